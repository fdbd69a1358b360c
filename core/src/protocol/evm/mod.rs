//! The `exact` scheme on EVM networks (EIP-3009 over EIP-712), one concept per module:
//! addresses and Keccak, EIP-712 hashing, secp256k1 signatures and keys, and the scheme's
//! verification and signing.

pub mod address;
pub mod eip712;
pub mod exact;
pub mod signature;

pub use address::{keccak256, Address};
pub use eip712::{Eip712Domain, TransferWithAuthorization};
pub use exact::{
    build_authorization, domain_for, payload_of, sign_payment, verify_payment,
    verify_payment_for_chain, ChainEvmPayment, SignerProof, VerifiedEvmPayment, ERC6492_MAGIC,
    MAX_CHAIN_SIGNATURE_LEN,
};
pub use signature::{EvmSignature, PrivateKey};
