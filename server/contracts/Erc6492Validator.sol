// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

interface IERC1271Wallet {
    function isValidSignature(bytes32 hash, bytes memory signature) external view returns (bytes4);
}

/// ERC-6492's off-chain validation, run "deployless": its creation code and constructor
/// arguments are sent as an `eth_call` without a recipient, and the constructor answers one
/// byte, 0x01 when `signature` is `signer`'s over `hash`. A signature wrapped for a wallet not
/// deployed yet (`abi.encode(factory, factoryCalldata, innerSignature) ‖ 0x6492…6492`) has the
/// factory called first — inside the simulation only — then the wallet asked (ERC-1271). The
/// settler calls this only for factories it allows.
contract Erc6492Validator {
    bytes32 private constant MAGIC = 0x6492649264926492649264926492649264926492649264926492649264926492;

    constructor(address signer, bytes32 hash, bytes memory signature) {
        bool valid = check(signer, hash, signature);
        assembly {
            mstore(0, valid)
            return(31, 1)
        }
    }

    function check(address signer, bytes32 hash, bytes memory signature) private returns (bool) {
        bytes memory inner = signature;
        uint256 length = signature.length;
        if (length >= 32 && readWord(signature, length - 32) == MAGIC) {
            bytes memory wrapped = new bytes(length - 32);
            for (uint256 i = 0; i < length - 32; i++) {
                wrapped[i] = signature[i];
            }
            (address factory, bytes memory factoryCalldata, bytes memory sig) = abi.decode(wrapped, (address, bytes, bytes));
            if (signer.code.length == 0) {
                (bool deployed,) = factory.call(factoryCalldata);
                if (!deployed) return false;
            }
            inner = sig;
        }
        if (signer.code.length == 0) {
            if (inner.length != 65) return false;
            bytes32 r = readWord(inner, 0);
            bytes32 s = readWord(inner, 32);
            uint8 v = uint8(inner[64]);
            return ecrecover(hash, v, r, s) == signer;
        }
        try IERC1271Wallet(signer).isValidSignature(hash, inner) returns (bytes4 answer) {
            return answer == IERC1271Wallet.isValidSignature.selector;
        } catch {
            return false;
        }
    }

    function readWord(bytes memory data, uint256 offset) private pure returns (bytes32 word) {
        assembly {
            word := mload(add(add(data, 0x20), offset))
        }
    }
}
