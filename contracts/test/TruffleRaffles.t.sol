// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {TruffleRegistry} from "../src/TruffleRegistry.sol";
import {TestBase} from "./Vm.sol";

/// Raffle commitments (truffle.draw/1): every step, and every refusal.
contract TruffleRafflesTest is TestBase {
    TruffleRegistry internal registry;
    address internal constant OPERATOR = address(0xA11CE);
    address internal constant STRANGER = address(0xBAD);
    bytes16 internal constant ID = bytes16(0x0192f5a4c3d27e0b9a3c1d2e3f405162);
    bytes32 internal constant PRODUCT = keccak256("product record");
    bytes32 internal constant SEED = keccak256("secret seed");
    uint64 internal constant CLOSES = 1_800_003_600;

    event RaffleCommitted(
        bytes16 indexed raffleId, bytes32 productContentHash, bytes32 seedHash, uint64 closesAt, uint32 winners
    );
    event RaffleClosed(bytes16 indexed raffleId, bytes32 ticketRoot, uint32 ticketCount, uint64 closeBlock);
    event RaffleRevealed(bytes16 indexed raffleId, bytes32 seed, bytes32 blockHash, bytes32 randomness);
    event RaffleVoided(bytes16 indexed raffleId);

    function setUp() public {
        vm.warp(1_800_000_000);
        vm.roll(100);
        registry = new TruffleRegistry(OPERATOR);
    }

    function commit() internal {
        // Hash first: the sha256 precompile call would otherwise use up the prank.
        bytes32 seedHash = sha256(abi.encodePacked(SEED));
        vm.prank(OPERATOR);
        registry.commitRaffle(ID, PRODUCT, seedHash, CLOSES, 3);
    }

    function closeAt(uint256 blockNumber) internal {
        vm.warp(CLOSES);
        vm.roll(blockNumber);
        vm.prank(OPERATOR);
        registry.closeRaffle(ID, keccak256("root"), 10);
    }

    function state() internal view returns (TruffleRegistry.RaffleState s) {
        (,,,,,,,, s) = registry.raffles(ID);
    }

    function test_fullLifeFixesTheRandomnessFromSeedAndNextBlockHash() public {
        bytes32 seedHash = sha256(abi.encodePacked(SEED));
        vm.expectEmit(true, true, true, true);
        emit RaffleCommitted(ID, PRODUCT, seedHash, CLOSES, 3);
        commit();
        vm.warp(CLOSES);
        vm.roll(200);
        vm.expectEmit(true, true, true, true);
        emit RaffleClosed(ID, keccak256("root"), 10, 200);
        vm.prank(OPERATOR);
        registry.closeRaffle(ID, keccak256("root"), 10);

        bytes32 nextHash = keccak256("block 201");
        vm.roll(202);
        vm.setBlockhash(201, nextHash);
        bytes32 expected = sha256(abi.encodePacked(SEED, nextHash));
        vm.expectEmit(true, true, true, true);
        emit RaffleRevealed(ID, SEED, nextHash, expected);
        registry.revealSeed(ID, SEED);
        (,,,, uint32 count, bytes32 root, uint64 closeBlock, bytes32 randomness, TruffleRegistry.RaffleState s) =
            registry.raffles(ID);
        vm.assertEq(count, 10);
        vm.assertEq(root, keccak256("root"));
        vm.assertEq(closeBlock, 200);
        vm.assertEq(randomness, expected);
        vm.assertTrue(s == TruffleRegistry.RaffleState.Revealed);
    }

    function test_commitRefusals() public {
        vm.prank(STRANGER);
        vm.expectRevert(TruffleRegistry.NotAnchorer.selector);
        registry.commitRaffle(ID, PRODUCT, SEED, CLOSES, 3);
        vm.prank(OPERATOR);
        vm.expectRevert(TruffleRegistry.NoWinners.selector);
        registry.commitRaffle(ID, PRODUCT, SEED, CLOSES, 0);
        vm.prank(OPERATOR);
        vm.expectRevert(TruffleRegistry.ZeroHash.selector);
        registry.commitRaffle(ID, PRODUCT, bytes32(0), CLOSES, 3);
        commit();
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(TruffleRegistry.RaffleExists.selector, ID));
        registry.commitRaffle(ID, PRODUCT, SEED, CLOSES, 3);
    }

    function test_closeRefusals() public {
        vm.prank(OPERATOR);
        vm.expectRevert(
            abi.encodeWithSelector(TruffleRegistry.WrongRaffleState.selector, ID, TruffleRegistry.RaffleState.None)
        );
        registry.closeRaffle(ID, keccak256("root"), 10);
        commit();
        vm.warp(CLOSES - 1);
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(TruffleRegistry.ClosingTooEarly.selector, CLOSES));
        registry.closeRaffle(ID, keccak256("root"), 10);
        vm.warp(CLOSES);
        vm.prank(STRANGER);
        vm.expectRevert(TruffleRegistry.NotAnchorer.selector);
        registry.closeRaffle(ID, keccak256("root"), 10);
        vm.prank(OPERATOR);
        vm.expectRevert(TruffleRegistry.BadTicketRoot.selector);
        registry.closeRaffle(ID, bytes32(0), 10);
        vm.prank(OPERATOR);
        vm.expectRevert(TruffleRegistry.BadTicketRoot.selector);
        registry.closeRaffle(ID, keccak256("root"), 0);
        vm.prank(OPERATOR);
        registry.closeRaffle(ID, keccak256("root"), 10);
        vm.prank(OPERATOR);
        vm.expectRevert(
            abi.encodeWithSelector(TruffleRegistry.WrongRaffleState.selector, ID, TruffleRegistry.RaffleState.Closed)
        );
        registry.closeRaffle(ID, keccak256("root"), 10);
    }

    function test_noTicketsMeansNoDraw() public {
        commit();
        vm.warp(CLOSES);
        vm.prank(OPERATOR);
        registry.closeRaffle(ID, bytes32(0), 0);
        vm.assertTrue(state() == TruffleRegistry.RaffleState.Empty);
        vm.roll(block.number + 5);
        vm.expectRevert(
            abi.encodeWithSelector(TruffleRegistry.WrongRaffleState.selector, ID, TruffleRegistry.RaffleState.Empty)
        );
        registry.revealSeed(ID, SEED);
    }

    function test_revealRefusals() public {
        commit();
        vm.expectRevert(
            abi.encodeWithSelector(TruffleRegistry.WrongRaffleState.selector, ID, TruffleRegistry.RaffleState.Committed)
        );
        registry.revealSeed(ID, SEED);
        closeAt(200);
        // In the closing block and the next one the hash of block 201 is not known yet.
        vm.expectRevert(abi.encodeWithSelector(TruffleRegistry.RevealTooEarly.selector, uint64(200)));
        registry.revealSeed(ID, SEED);
        vm.roll(201);
        vm.expectRevert(abi.encodeWithSelector(TruffleRegistry.RevealTooEarly.selector, uint64(200)));
        registry.revealSeed(ID, SEED);
        vm.roll(202);
        vm.expectRevert(TruffleRegistry.SeedMismatch.selector);
        registry.revealSeed(ID, keccak256("another seed"));
        // The last block of the window still works; the reveal is final.
        vm.roll(456);
        registry.revealSeed(ID, SEED);
        vm.expectRevert(
            abi.encodeWithSelector(TruffleRegistry.WrongRaffleState.selector, ID, TruffleRegistry.RaffleState.Revealed)
        );
        registry.revealSeed(ID, SEED);
        vm.expectRevert(
            abi.encodeWithSelector(TruffleRegistry.WrongRaffleState.selector, ID, TruffleRegistry.RaffleState.Revealed)
        );
        registry.markVoid(ID);
    }

    function test_aMissedRevealWindowVoidsTheRaffle() public {
        commit();
        closeAt(200);
        vm.roll(456);
        vm.expectRevert(abi.encodeWithSelector(TruffleRegistry.NotVoidableYet.selector, uint64(200)));
        registry.markVoid(ID);
        vm.roll(457);
        vm.expectRevert(abi.encodeWithSelector(TruffleRegistry.RevealTooLate.selector, uint64(200)));
        registry.revealSeed(ID, SEED);
        vm.expectEmit(true, true, true, true);
        emit RaffleVoided(ID);
        vm.prank(STRANGER); // anyone may void
        registry.markVoid(ID);
        vm.assertTrue(state() == TruffleRegistry.RaffleState.Void);
    }

    function test_cancelOnlyBeforeClosing() public {
        vm.prank(OPERATOR);
        vm.expectRevert(
            abi.encodeWithSelector(TruffleRegistry.WrongRaffleState.selector, ID, TruffleRegistry.RaffleState.None)
        );
        registry.cancelRaffle(ID);
        commit();
        vm.prank(STRANGER);
        vm.expectRevert(TruffleRegistry.NotAnchorer.selector);
        registry.cancelRaffle(ID);
        vm.prank(OPERATOR);
        registry.cancelRaffle(ID);
        vm.assertTrue(state() == TruffleRegistry.RaffleState.Cancelled);
        vm.warp(CLOSES);
        vm.prank(OPERATOR);
        vm.expectRevert(
            abi.encodeWithSelector(TruffleRegistry.WrongRaffleState.selector, ID, TruffleRegistry.RaffleState.Cancelled)
        );
        registry.closeRaffle(ID, keccak256("root"), 10);
    }
}
