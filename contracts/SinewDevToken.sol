// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC3009} from "@openzeppelin/contracts/token/ERC20/extensions/draft-ERC3009.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// The settlement token of a dev network: an ERC-20 with 18 decimals (1 token = 1 SIN),
/// EIP-2612 permits, EIP-3009 transfer/receive with authorization, and an owner mint for
/// faucets. Production settles in an existing ERC-20 instead.
contract SinewDevToken is ERC20, ERC20Permit, ERC3009, Ownable {
    constructor(address owner_) ERC20("Sinew Dev Token", "dSIN") ERC20Permit("Sinew Dev Token") Ownable(owner_) {}

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
