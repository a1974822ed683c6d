// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

/// @title Truffle registry of anchored product records and raffle commitments
/// @notice Stores the Merkle roots of batches of Truffle product records (protocol
///         `truffle.anchor/1`), the revocation of individual records, and the commitments that make
///         each raffle's draw re-runnable by anyone (protocol `truffle.draw/1`). Anyone can read it;
///         only the platform's anchoring key may anchor, revoke, commit, close or cancel.
/// @dev Merkle rules (byte-exact, see docs/PROTOCOLS.md): leaf = sha256(0x00 ‖ contentHash);
///      inner node = sha256(0x01 ‖ min(a, b) ‖ max(a, b)); a proof lists sibling hashes from the
///      leaf to the root. sha256 runs on the EVM precompile at address 0x02.
contract TruffleRegistry {
    /// @notice The account that manages anchoring keys.
    address public owner;

    /// @notice Accounts allowed to anchor roots and revoke records.
    mapping(address account => bool allowed) public isAnchorer;

    /// @notice Block timestamp at which a root was anchored; 0 if never.
    mapping(bytes32 root => uint64 timestamp) public anchoredAt;

    /// @notice Block timestamp at which a record (by content hash) was revoked; 0 if never.
    mapping(bytes32 contentHash => uint64 timestamp) public revokedAt;

    /// @notice A batch root was anchored.
    event Anchored(bytes32 indexed root, uint64 timestamp, address indexed anchorer);
    /// @notice A record was revoked (counterfeit report or leaked seller key).
    event Revoked(bytes32 indexed contentHash, uint64 timestamp, address indexed anchorer);
    /// @notice An anchoring key was allowed or disallowed.
    event AnchorerSet(address indexed account, bool allowed);
    /// @notice Ownership moved to a new account.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    /// @notice The caller is not the owner.
    error NotOwner();
    /// @notice The caller may not anchor or revoke.
    error NotAnchorer();
    /// @notice The root is already anchored; its first timestamp stands.
    error AlreadyAnchored(bytes32 root);
    /// @notice The record is already revoked; its first timestamp stands.
    error AlreadyRevoked(bytes32 contentHash);
    /// @notice The zero hash is never a valid root or record.
    error ZeroHash();

    /// @notice Where a raffle stands on chain.
    enum RaffleState {
        None,
        Committed,
        Closed,
        Revealed,
        Void,
        Empty,
        Cancelled
    }

    /// @notice A raffle's commitment and, later, its closing and randomness.
    struct Raffle {
        bytes32 productContentHash;
        bytes32 seedHash;
        uint64 closesAt;
        uint32 winners;
        uint32 ticketCount;
        bytes32 ticketRoot;
        uint64 closeBlock;
        bytes32 randomness;
        RaffleState state;
    }

    /// @notice Raffles by id (the raffle's UUID as 16 bytes).
    mapping(bytes16 raffleId => Raffle raffle) public raffles;

    /// @notice Committed before anyone can enter: the product, sha256 of the secret seed, the
    ///         closing time and the number of winners.
    event RaffleCommitted(
        bytes16 indexed raffleId, bytes32 productContentHash, bytes32 seedHash, uint64 closesAt, uint32 winners
    );
    /// @notice Entries are fixed: the Merkle root and count of the sorted ticket list, at block `closeBlock`.
    event RaffleClosed(bytes16 indexed raffleId, bytes32 ticketRoot, uint32 ticketCount, uint64 closeBlock);
    /// @notice The seed is revealed and the randomness fixed: sha256(seed ‖ blockhash(closeBlock + 1)).
    event RaffleRevealed(bytes16 indexed raffleId, bytes32 seed, bytes32 blockHash, bytes32 randomness);
    /// @notice The reveal missed its 256-block window: the raffle is void, visibly.
    event RaffleVoided(bytes16 indexed raffleId);
    /// @notice Closed with no tickets: nothing to draw.
    event RaffleEmpty(bytes16 indexed raffleId);
    /// @notice Cancelled by the platform before closing.
    event RaffleCancelled(bytes16 indexed raffleId);

    /// @notice A raffle with this id is already committed.
    error RaffleExists(bytes16 raffleId);
    /// @notice The raffle is not in the state this step needs.
    error WrongRaffleState(bytes16 raffleId, RaffleState state);
    /// @notice A raffle has at least one winner.
    error NoWinners();
    /// @notice Closing before the committed closing time.
    error ClosingTooEarly(uint64 closesAt);
    /// @notice An empty ticket list has the zero root; a non-empty one does not.
    error BadTicketRoot();
    /// @notice The reveal must come after block closeBlock + 1, so that its hash exists.
    error RevealTooEarly(uint64 closeBlock);
    /// @notice The reveal window (256 blocks after closing) has passed.
    error RevealTooLate(uint64 closeBlock);
    /// @notice sha256(seed) is not the committed seed hash.
    error SeedMismatch();
    /// @notice A raffle may be voided only once its reveal window has passed.
    error NotVoidableYet(uint64 closeBlock);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    modifier onlyAnchorer() {
        if (!isAnchorer[msg.sender]) revert NotAnchorer();
        _;
    }

    /// @param anchorer The first anchoring key (the deployer becomes owner).
    constructor(address anchorer) {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
        isAnchorer[anchorer] = true;
        emit AnchorerSet(anchorer, true);
    }

    /// @notice Anchors a batch root. A root can be anchored once; resending it reverts, so a
    ///         retried transaction never changes the recorded time.
    /// @param root The Merkle root of the batch.
    function anchor(bytes32 root) external onlyAnchorer {
        if (root == bytes32(0)) revert ZeroHash();
        if (anchoredAt[root] != 0) revert AlreadyAnchored(root);
        uint64 ts = uint64(block.timestamp);
        anchoredAt[root] = ts;
        emit Anchored(root, ts, msg.sender);
    }

    /// @notice Marks a record revoked. Verification then reports it as revoked.
    /// @param contentHash sha256 of the record's canonical bytes.
    function revoke(bytes32 contentHash) external onlyAnchorer {
        if (contentHash == bytes32(0)) revert ZeroHash();
        if (revokedAt[contentHash] != 0) revert AlreadyRevoked(contentHash);
        uint64 ts = uint64(block.timestamp);
        revokedAt[contentHash] = ts;
        emit Revoked(contentHash, ts, msg.sender);
    }

    /// @notice Allows or disallows an anchoring key (rotate a leaked one out).
    function setAnchorer(address account, bool allowed) external onlyOwner {
        isAnchorer[account] = allowed;
        emit AnchorerSet(account, allowed);
    }

    /// @notice Hands the registry to a new owner.
    function transferOwnership(address newOwner) external onlyOwner {
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @notice Commits a raffle before anyone can enter it.
    /// @param raffleId The raffle's UUID as 16 bytes.
    /// @param productContentHash The content hash of the product record being raffled.
    /// @param seedHash sha256 of the 32-byte secret seed revealed after closing.
    /// @param closesAt Unix time before which the raffle cannot close.
    /// @param winners How many tickets win.
    function commitRaffle(bytes16 raffleId, bytes32 productContentHash, bytes32 seedHash, uint64 closesAt, uint32 winners)
        external
        onlyAnchorer
    {
        Raffle storage r = raffles[raffleId];
        if (r.state != RaffleState.None) revert RaffleExists(raffleId);
        if (winners == 0) revert NoWinners();
        if (seedHash == bytes32(0) || productContentHash == bytes32(0)) revert ZeroHash();
        r.productContentHash = productContentHash;
        r.seedHash = seedHash;
        r.closesAt = closesAt;
        r.winners = winners;
        r.state = RaffleState.Committed;
        emit RaffleCommitted(raffleId, productContentHash, seedHash, closesAt, winners);
    }

    /// @notice Fixes the entries: the root and count of the sorted, deduplicated ticket list.
    ///         With no tickets (root 0, count 0) the raffle ends empty.
    function closeRaffle(bytes16 raffleId, bytes32 ticketRoot, uint32 ticketCount) external onlyAnchorer {
        Raffle storage r = raffles[raffleId];
        if (r.state != RaffleState.Committed) revert WrongRaffleState(raffleId, r.state);
        if (block.timestamp < r.closesAt) revert ClosingTooEarly(r.closesAt);
        if ((ticketCount == 0) != (ticketRoot == bytes32(0))) revert BadTicketRoot();
        if (ticketCount == 0) {
            r.state = RaffleState.Empty;
            emit RaffleEmpty(raffleId);
            return;
        }
        r.ticketRoot = ticketRoot;
        r.ticketCount = ticketCount;
        r.closeBlock = uint64(block.number);
        r.state = RaffleState.Closed;
        emit RaffleClosed(raffleId, ticketRoot, ticketCount, uint64(block.number));
    }

    /// @notice Reveals the seed in a block after closeBlock + 1 and no later than closeBlock + 256,
    ///         checking it against the commitment, and fixes the randomness. Final. Anyone holding
    ///         the seed may call it; only the committed seed is accepted.
    function revealSeed(bytes16 raffleId, bytes32 seed) external {
        Raffle storage r = raffles[raffleId];
        if (r.state != RaffleState.Closed) revert WrongRaffleState(raffleId, r.state);
        if (block.number <= uint256(r.closeBlock) + 1) revert RevealTooEarly(r.closeBlock);
        if (block.number > uint256(r.closeBlock) + 256) revert RevealTooLate(r.closeBlock);
        if (sha256(abi.encodePacked(seed)) != r.seedHash) revert SeedMismatch();
        bytes32 blockHash = blockhash(uint256(r.closeBlock) + 1);
        bytes32 randomness = sha256(abi.encodePacked(seed, blockHash));
        r.randomness = randomness;
        r.state = RaffleState.Revealed;
        emit RaffleRevealed(raffleId, seed, blockHash, randomness);
    }

    /// @notice Once closeBlock + 256 has passed with no reveal, anyone may mark the raffle void.
    function markVoid(bytes16 raffleId) external {
        Raffle storage r = raffles[raffleId];
        if (r.state != RaffleState.Closed) revert WrongRaffleState(raffleId, r.state);
        if (block.number <= uint256(r.closeBlock) + 256) revert NotVoidableYet(r.closeBlock);
        r.state = RaffleState.Void;
        emit RaffleVoided(raffleId);
    }

    /// @notice Cancels a committed raffle before it closes.
    function cancelRaffle(bytes16 raffleId) external onlyAnchorer {
        Raffle storage r = raffles[raffleId];
        if (r.state != RaffleState.Committed) revert WrongRaffleState(raffleId, r.state);
        r.state = RaffleState.Cancelled;
        emit RaffleCancelled(raffleId);
    }

    /// @notice The Merkle leaf of a record: sha256(0x00 ‖ contentHash).
    function leafOf(bytes32 contentHash) public pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), contentHash));
    }

    /// @notice Checks that `leaf` with the sibling path `proof` hashes up to `root`.
    /// @param leaf A leaf as made by `leafOf`.
    /// @param proof Sibling hashes from the leaf upwards.
    /// @param root The expected root.
    function verifyProof(bytes32 leaf, bytes32[] calldata proof, bytes32 root) public pure returns (bool) {
        bytes32 node = leaf;
        for (uint256 i = 0; i < proof.length; i++) {
            bytes32 sibling = proof[i];
            node = node < sibling
                ? sha256(abi.encodePacked(bytes1(0x01), node, sibling))
                : sha256(abi.encodePacked(bytes1(0x01), sibling, node));
        }
        return node == root;
    }

    /// @notice One call for verifiers: is this record in an anchored batch, and is it revoked?
    /// @return anchoredTimestamp When the root was anchored (0: proof wrong or root not anchored).
    /// @return revokedTimestamp When the record was revoked (0: not revoked).
    function recordStatus(bytes32 contentHash, bytes32[] calldata proof, bytes32 root)
        external
        view
        returns (uint64 anchoredTimestamp, uint64 revokedTimestamp)
    {
        if (verifyProof(leafOf(contentHash), proof, root)) anchoredTimestamp = anchoredAt[root];
        revokedTimestamp = revokedAt[contentHash];
    }
}
