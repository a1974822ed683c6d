// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

/// @title Truffle registry of anchored product records
/// @notice Stores the Merkle roots of batches of Truffle product records (protocol
///         `truffle.anchor/1`) and the revocation of individual records. Anyone can read it; only
///         the platform's anchoring key may write.
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
