//! What clients do: operation mixes, generators and client adapters.
