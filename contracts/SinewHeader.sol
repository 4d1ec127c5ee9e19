// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// A Sinew block header (src/ledger/header.ts). `timestamp` is in milliseconds since the epoch.
struct Header {
    uint64 height;
    bytes32 parentHash;
    uint64 timestamp;
    bytes32 txRoot;
    bytes32 stateRoot;
    bytes32 receiptsRoot;
    uint32 txCount;
    address proposer;
}

/// The header hash and its signature check (docs/state-proofs.md §5).
library SinewHeader {
    /// keccak256(abi.encode(height, parentHash, timestamp, txRoot, stateRoot, receiptsRoot, txCount, proposer)):
    /// a static struct ABI-encodes as its fields, each widened to one 32-byte word.
    function hash(Header calldata header) internal pure returns (bytes32) {
        return keccak256(abi.encode(header));
    }

    /// The signer of a header hash: a 65-byte (r, s, v) secp256k1 signature of the hash itself,
    /// with no message prefix. Returns address(0) for a malformed signature or a high s
    /// (OpenZeppelin ECDSA refuses malleable signatures).
    function signer(bytes32 headerHash, bytes calldata signature) internal pure returns (address) {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(headerHash, signature);
        return err == ECDSA.RecoverError.NoError ? recovered : address(0);
    }
}
