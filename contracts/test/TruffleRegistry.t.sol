// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {TruffleRegistry} from "../src/TruffleRegistry.sol";
import {TestBase} from "./Vm.sol";

contract TruffleRegistryTest is TestBase {
    TruffleRegistry internal registry;
    address internal constant ANCHORER = address(0xA11CE);
    address internal constant STRANGER = address(0xBAD);

    event Anchored(bytes32 indexed root, uint64 timestamp, address indexed anchorer);
    event Revoked(bytes32 indexed contentHash, uint64 timestamp, address indexed anchorer);

    function setUp() public {
        vm.warp(1_800_000_000);
        registry = new TruffleRegistry(ANCHORER);
    }

    function test_anchorRecordsTheBlockTimeAndEmits() public {
        bytes32 root = keccak256("root");
        vm.expectEmit(true, true, true, true);
        emit Anchored(root, 1_800_000_000, ANCHORER);
        vm.prank(ANCHORER);
        registry.anchor(root);
        vm.assertEq(registry.anchoredAt(root), 1_800_000_000);
    }

    function test_onlyTheAnchorerAnchorsAndRevokes() public {
        vm.prank(STRANGER);
        vm.expectRevert(TruffleRegistry.NotAnchorer.selector);
        registry.anchor(keccak256("root"));
        vm.prank(STRANGER);
        vm.expectRevert(TruffleRegistry.NotAnchorer.selector);
        registry.revoke(keccak256("record"));
        // The owner is not an anchorer by being owner.
        vm.expectRevert(TruffleRegistry.NotAnchorer.selector);
        registry.anchor(keccak256("root"));
    }

    function test_reanchoringRevertsAndKeepsTheFirstTime() public {
        bytes32 root = keccak256("root");
        vm.prank(ANCHORER);
        registry.anchor(root);
        vm.warp(1_900_000_000);
        vm.prank(ANCHORER);
        vm.expectRevert(abi.encodeWithSelector(TruffleRegistry.AlreadyAnchored.selector, root));
        registry.anchor(root);
        vm.assertEq(registry.anchoredAt(root), 1_800_000_000);
    }

    function test_zeroHashesAreRefused() public {
        vm.prank(ANCHORER);
        vm.expectRevert(TruffleRegistry.ZeroHash.selector);
        registry.anchor(bytes32(0));
        vm.prank(ANCHORER);
        vm.expectRevert(TruffleRegistry.ZeroHash.selector);
        registry.revoke(bytes32(0));
    }

    function test_revocationIsRecordedOnceAndEmits() public {
        bytes32 record = keccak256("record");
        vm.expectEmit(true, true, true, true);
        emit Revoked(record, 1_800_000_000, ANCHORER);
        vm.prank(ANCHORER);
        registry.revoke(record);
        vm.assertEq(registry.revokedAt(record), 1_800_000_000);
        vm.prank(ANCHORER);
        vm.expectRevert(abi.encodeWithSelector(TruffleRegistry.AlreadyRevoked.selector, record));
        registry.revoke(record);
    }

    function test_ownerRotatesAnchoringKeys() public {
        address next = address(0xBEEF);
        vm.prank(STRANGER);
        vm.expectRevert(TruffleRegistry.NotOwner.selector);
        registry.setAnchorer(next, true);
        registry.setAnchorer(next, true);
        registry.setAnchorer(ANCHORER, false);
        vm.prank(next);
        registry.anchor(keccak256("a"));
        vm.prank(ANCHORER);
        vm.expectRevert(TruffleRegistry.NotAnchorer.selector);
        registry.anchor(keccak256("b"));
        registry.transferOwnership(STRANGER);
        vm.expectRevert(TruffleRegistry.NotOwner.selector);
        registry.setAnchorer(next, false);
    }

    // --- Merkle proofs, built here by the same rules the server follows --------------------------

    function leaf(bytes32 contentHash) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), contentHash));
    }

    function parent(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? sha256(abi.encodePacked(bytes1(0x01), a, b)) : sha256(abi.encodePacked(bytes1(0x01), b, a));
    }

    function sortAndDedupe(bytes32[] memory xs) internal pure returns (bytes32[] memory out) {
        for (uint256 i = 1; i < xs.length; i++) {
            bytes32 x = xs[i];
            uint256 j = i;
            while (j > 0 && xs[j - 1] > x) {
                xs[j] = xs[j - 1];
                j--;
            }
            xs[j] = x;
        }
        uint256 n = 0;
        out = new bytes32[](xs.length);
        for (uint256 i = 0; i < xs.length; i++) {
            if (n == 0 || out[n - 1] != xs[i]) out[n++] = xs[i];
        }
        assembly {
            mstore(out, n)
        }
    }

    /// Root and the proof of leaf `index` (in sorted order).
    function rootAndProof(bytes32[] memory leaves, uint256 index)
        internal
        pure
        returns (bytes32 root, bytes32[] memory proof)
    {
        bytes32[] memory level = leaves;
        bytes32[] memory path = new bytes32[](64);
        uint256 depth = 0;
        uint256 pos = index;
        while (level.length > 1) {
            bytes32[] memory next = new bytes32[]((level.length + 1) / 2);
            for (uint256 i = 0; i < level.length; i += 2) {
                next[i / 2] = i + 1 < level.length ? parent(level[i], level[i + 1]) : level[i];
            }
            uint256 sibling = pos ^ 1;
            if (sibling < level.length) path[depth++] = level[sibling];
            pos /= 2;
            level = next;
        }
        root = level[0];
        proof = new bytes32[](depth);
        for (uint256 i = 0; i < depth; i++) {
            proof[i] = path[i];
        }
    }

    function testFuzz_everyLeafProvesAndATamperedProofFails(uint256 seed, uint8 count, uint8 pick, uint8 flip)
        public
    {
        uint256 n = uint256(count) % 40 + 1;
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = leaf(keccak256(abi.encode(seed, i)));
        }
        leaves = sortAndDedupe(leaves);
        uint256 index = uint256(pick) % leaves.length;
        (bytes32 root, bytes32[] memory proof) = rootAndProof(leaves, index);
        vm.assertTrue(registry.verifyProof(leaves[index], proof, root));

        // Anchored: the one-call status says so, and a wrong root or record does not.
        vm.prank(ANCHORER);
        registry.anchor(root);
        bytes32 contentHash = keccak256(abi.encode(seed, uint256(0)));
        bytes32 firstLeaf = leaf(contentHash);
        uint256 firstIndex = 0;
        while (leaves[firstIndex] != firstLeaf) firstIndex++;
        (, bytes32[] memory firstProof) = rootAndProof(leaves, firstIndex);
        (uint64 anchored, uint64 revoked) = registry.recordStatus(contentHash, firstProof, root);
        vm.assertEq(anchored, 1_800_000_000);
        vm.assertEq(revoked, 0);

        if (proof.length > 0) {
            proof[uint256(flip) % proof.length] ^= bytes32(uint256(1));
            vm.assertFalse(registry.verifyProof(leaves[index], proof, root));
        }
        vm.assertFalse(registry.verifyProof(leaves[index] ^ bytes32(uint256(1)), proof, root));
        (anchored,) = registry.recordStatus(contentHash, firstProof, root ^ bytes32(uint256(1)));
        vm.assertEq(anchored, 0);
    }

    function test_singleLeafTreeIsItsOwnRoot() public view {
        bytes32 l = leaf(keccak256("only"));
        vm.assertTrue(registry.verifyProof(l, new bytes32[](0), l));
    }
}
