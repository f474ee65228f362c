"""Content-addressed storage: an embedded IPFS-compatible block store and a Kubo RPC client."""
