// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import "./PaywireTestWallet.sol";

/// Deploys PaywireTestWallets at CREATE2 addresses known before deployment: a wallet can be
/// paid into, and can sign (ERC-6492), before it exists — as Coinbase Smart Wallet's factory
/// allows.
contract PaywireTestWalletFactory {
    function deploy(address owner, bytes32 salt) external returns (address wallet) {
        wallet = address(new PaywireTestWallet{salt: salt}(owner));
    }

    function walletAddress(address owner, bytes32 salt) external view returns (address) {
        bytes32 code = keccak256(abi.encodePacked(type(PaywireTestWallet).creationCode, abi.encode(owner)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, code)))));
    }
}
