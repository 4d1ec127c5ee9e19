// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {Header, SinewHeader} from "../SinewHeader.sol";
import {SinewStateProof} from "../SinewStateProof.sol";

/// Test-only: exposes each statement of docs/state-proofs.md as a Solidity function, so the
/// tests check the document on a real EVM. Not deployed outside tests.
contract SinewProofHarness {
    /// §2: an item of a list tree (txRoot, receiptsRoot) at `index` of `count`.
    function verifyListItem(bytes32 root, uint256 count, uint256 index, bytes32 itemHash, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        if (index >= count) return false;
        return MerkleProof.verifyCalldata(proof, root, keccak256(abi.encode(index, itemHash)));
    }

    /// §2: a txRoot item is keccak256(abi.encode(EIP-712 digest, sender)).
    function txItem(bytes32 digest, address sender) external pure returns (bytes32) {
        return keccak256(abi.encode(digest, sender));
    }

    /// §3.4.
    function verifyInclusion(bytes32 root, bytes32 key, bytes32 valueHash, bytes32[] calldata siblings) external pure returns (bool) {
        return SinewStateProof.verifyInclusion(root, key, valueHash, siblings);
    }

    function verifyNonInclusion(
        bytes32 root,
        bytes32 key,
        bool hasOther,
        bytes32 otherKey,
        bytes32 otherValueHash,
        bytes32[] calldata siblings
    ) external pure returns (bool) {
        return SinewStateProof.verifyNonInclusion(root, key, hasOther, otherKey, otherValueHash, siblings);
    }

    /// §3.6: a bundle's proof.key and proof.value.
    function keyHash(string calldata key) external pure returns (bytes32) {
        return keccak256(bytes(key));
    }

    function valueHash(bytes calldata value) external pure returns (bytes32) {
        return keccak256(value);
    }

    function accountKeyHash(address account) external pure returns (bytes32) {
        return keccak256(bytes(string.concat("acct/", Strings.toHexString(account))));
    }

    /// §5: the header hash and its signer.
    function headerHash(Header calldata header) external pure returns (bytes32) {
        return SinewHeader.hash(header);
    }

    function headerSigner(Header calldata header, bytes calldata signature) external pure returns (address) {
        return SinewHeader.signer(SinewHeader.hash(header), signature);
    }
}
