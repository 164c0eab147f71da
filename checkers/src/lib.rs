//! Consistency checkers: linearizable, sequential, causal, and their explanations.
