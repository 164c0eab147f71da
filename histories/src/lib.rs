//! Operation and history types, the JSONL journal, importers and validation.
