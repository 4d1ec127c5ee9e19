// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// Verifies proofs against a Sinew stateRoot (docs/state-proofs.md §3): a compressed binary
/// sparse Merkle tree with leaf = keccak256(0x00 ‖ key ‖ valueHash) and
/// node = keccak256(0x01 ‖ left ‖ right); siblings are given root-first.
library SinewStateProof {
    function leafHash(bytes32 key, bytes32 valueHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), key, valueHash));
    }

    /// Folds siblings (root-first order) from `start` at depth siblings.length up to the root.
    function computeRoot(bytes32 key, bytes32 start, bytes32[] calldata siblings) internal pure returns (bytes32 node) {
        node = start;
        uint256 k = uint256(key);
        for (uint256 i = siblings.length; i > 0; ) {
            unchecked {
                --i;
            }
            if ((k >> (255 - i)) & 1 == 1) node = keccak256(abi.encodePacked(bytes1(0x01), siblings[i], node));
            else node = keccak256(abi.encodePacked(bytes1(0x01), node, siblings[i]));
        }
    }

    function verifyInclusion(bytes32 root, bytes32 key, bytes32 valueHash, bytes32[] calldata siblings) internal pure returns (bool) {
        if (siblings.length > 256) return false;
        return computeRoot(key, leafHash(key, valueHash), siblings) == root;
    }

    /// hasOther = false: the path ends in an empty subtree (otherKey/otherValueHash ignored).
    function verifyNonInclusion(
        bytes32 root,
        bytes32 key,
        bool hasOther,
        bytes32 otherKey,
        bytes32 otherValueHash,
        bytes32[] calldata siblings
    ) internal pure returns (bool) {
        uint256 d = siblings.length;
        if (d > 256) return false;
        bytes32 start = bytes32(0);
        if (hasOther) {
            if (otherKey == key) return false;
            if (d > 0 && (uint256(key ^ otherKey) >> (256 - d)) != 0) return false; // same first d bits
            start = leafHash(otherKey, otherValueHash);
        }
        return computeRoot(key, start, siblings) == root;
    }
}
