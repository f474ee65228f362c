"""Tests of fedmarket.storage and the `fedmarket store` commands."""
