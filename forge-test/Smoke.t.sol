// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract SmokeTest { function test_smoke() public pure {} }
