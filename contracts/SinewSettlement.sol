// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {Header, SinewHeader} from "./SinewHeader.sol";
import {SinewStateProof} from "./SinewStateProof.sol";

/// Settles a Sinew ledger on an EVM chain (docs/settlement.md).
///
/// - Deposits lock the settlement token here and emit `Deposited`; the Sinew node credits
///   the named Sinew account once the deposit has enough confirmations.
/// - The sequencer posts signed Sinew block headers as checkpoints; their state roots are
///   kept by height.
/// - A withdrawal recorded in Sinew state (`withdrawal/<id>`) is paid once, on a Merkle
///   proof against a checkpointed state root.
/// - If no checkpoint arrives for `escapeDelay` seconds, every account may take out its
///   balance in the last checkpointed state root, once; the contract then takes no more
///   checkpoints or deposits.
contract SinewSettlement {
    using SafeERC20 for IERC20;

    /// A deposit, checkpoint or escape of zero.
    error ZeroAmount();
    /// Deposits must name a Sinew account; address(0) is nobody's.
    error InvalidSinewAccount(address sinewAccount);
    /// The header's proposer is not the sequencer fixed at deploy.
    error NotSequencer(address proposer);
    /// The signature does not recover to the sequencer (forged, malformed, or high s).
    error BadSignature(address recovered);
    /// Checkpoint heights only increase.
    error HeightNotIncreasing(uint64 height, uint64 lastHeight);
    /// A checkpoint directly after the last one must name it as its parent.
    error WrongParent(bytes32 parentHash, bytes32 expected);
    /// No checkpoint was posted at this height.
    error UnknownCheckpoint(uint64 height);
    /// The Merkle proof does not lead to the checkpointed state root.
    error InvalidProof();
    /// This withdrawal id was already paid.
    error AlreadyWithdrawn(bytes32 id);
    /// The escape hatch opens only after `escapeDelay` seconds without a checkpoint.
    error EscapeNotOpen(uint256 opensAt);
    /// This account already escaped.
    error AlreadyEscaped(address account);
    /// The escape hatch was used: no more checkpoints or deposits.
    error SettlementClosed();

    event Deposited(address indexed from, address indexed sinewAccount, uint256 amount);
    event CheckpointPosted(uint64 indexed height, bytes32 blockHash, bytes32 stateRoot);
    event Withdrawn(bytes32 indexed id, address indexed recipient, uint256 amount);
    event Escaped(address indexed account, uint256 amount);

    IERC20 public immutable token;
    address public immutable sequencer;
    uint64 public immutable escapeDelay;

    // One slot: written together by every checkpoint.
    uint64 public lastCheckpointHeight;
    uint64 public lastCheckpointTime;
    bool public escaped;
    bytes32 public lastCheckpointHash;

    mapping(uint64 height => bytes32 stateRoot) public stateRoots;
    mapping(bytes32 id => bool paid) public withdrawn;
    mapping(address account => bool done) public escapedAccount;

    constructor(IERC20 token_, address sequencer_, uint64 escapeDelaySeconds) {
        token = token_;
        sequencer = sequencer_;
        escapeDelay = escapeDelaySeconds;
        lastCheckpointTime = uint64(block.timestamp);
    }

    // ---- deposits ----

    function deposit(uint256 amount, address sinewAccount) external {
        _deposit(amount, sinewAccount);
    }

    /// Deposit with an EIP-2612 permit instead of a prior approve. A permit that fails (say,
    /// someone front-ran it) is ignored: the transfer then needs the allowance it would have set.
    function depositWithPermit(uint256 amount, address sinewAccount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(amount, sinewAccount);
    }

    function _deposit(uint256 amount, address sinewAccount) private {
        if (escaped) revert SettlementClosed();
        if (amount == 0) revert ZeroAmount();
        if (sinewAccount == address(0)) revert InvalidSinewAccount(sinewAccount);
        // The amount credited is what arrived, so a token that takes a fee on transfer
        // cannot make Sinew mint more than the contract holds.
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
        emit Deposited(msg.sender, sinewAccount, received);
    }

    // ---- checkpoints ----

    /// Stores the state root of a sequencer-signed header. Heights only increase; a header at
    /// the height right after the last checkpoint must name the last checkpoint's hash as its
    /// parent (a gap cannot be checked without the headers in between, which the sequencer's
    /// signature on each header covers).
    function postCheckpoint(Header calldata header, bytes calldata signature) external {
        if (escaped) revert SettlementClosed();
        if (header.proposer != sequencer) revert NotSequencer(header.proposer);
        bytes32 blockHash = SinewHeader.hash(header);
        address recovered = SinewHeader.signer(blockHash, signature);
        if (recovered != sequencer) revert BadSignature(recovered);
        uint64 last = lastCheckpointHeight;
        if (header.height <= last) revert HeightNotIncreasing(header.height, last);
        if (header.height == last + 1 && last != 0 && header.parentHash != lastCheckpointHash) {
            revert WrongParent(header.parentHash, lastCheckpointHash);
        }
        stateRoots[header.height] = header.stateRoot;
        lastCheckpointHeight = header.height;
        lastCheckpointTime = uint64(block.timestamp);
        lastCheckpointHash = blockHash;
        emit CheckpointPosted(header.height, blockHash, header.stateRoot);
    }

    // ---- withdrawals ----

    /// Pays a withdrawal recorded on Sinew under `withdrawal/<id>` with value
    /// abi.encode(account, recipient, amount), proven against the checkpoint at `checkpointHeight`.
    function withdraw(
        uint64 checkpointHeight,
        bytes32 id,
        address account,
        address recipient,
        uint256 amount,
        bytes32[] calldata siblings
    ) external {
        bytes32 root = stateRoots[checkpointHeight];
        if (root == bytes32(0)) revert UnknownCheckpoint(checkpointHeight);
        if (withdrawn[id]) revert AlreadyWithdrawn(id);
        bytes32 keyHash = keccak256(bytes(string.concat("withdrawal/", Strings.toHexString(uint256(id), 32))));
        bytes32 valueHash = keccak256(abi.encode(account, recipient, amount));
        if (!SinewStateProof.verifyInclusion(root, keyHash, valueHash, siblings)) revert InvalidProof();
        withdrawn[id] = true;
        token.safeTransfer(recipient, amount);
        emit Withdrawn(id, recipient, amount);
    }

    // ---- escape hatch ----

    /// Once no checkpoint has arrived for `escapeDelay` seconds, pays `account` its balance in
    /// the last checkpointed state (key `acct/<lower-case address>`, value abi.encode(balance, nonce)).
    /// Anyone may send it; the tokens go to `account`.
    function escape(address account, uint256 balance, uint256 nonce, bytes32[] calldata siblings) external {
        uint256 opensAt = uint256(lastCheckpointTime) + escapeDelay;
        if (block.timestamp <= opensAt) revert EscapeNotOpen(opensAt);
        if (escapedAccount[account]) revert AlreadyEscaped(account);
        if (balance == 0) revert ZeroAmount();
        bytes32 root = stateRoots[lastCheckpointHeight];
        if (root == bytes32(0)) revert UnknownCheckpoint(lastCheckpointHeight);
        bytes32 keyHash = keccak256(bytes(string.concat("acct/", Strings.toHexString(account))));
        bytes32 valueHash = keccak256(abi.encode(balance, nonce));
        if (!SinewStateProof.verifyInclusion(root, keyHash, valueHash, siblings)) revert InvalidProof();
        escapedAccount[account] = true;
        escaped = true;
        token.safeTransfer(account, balance);
        emit Escaped(account, balance);
    }
}
