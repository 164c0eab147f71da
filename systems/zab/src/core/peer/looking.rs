//! LOOKING: fast leader election (the vote rules are in `core/election.rs`), and refusing
//! client requests meanwhile.

use super::{Effect, Input, Peer, Role};
use crate::core::election::{ElectionAction, ServerState};
use crate::core::message::Message;

impl Peer {
    pub(super) fn enter_looking(&mut self, reason: &str) -> Role {
        tracing::info!(id = self.cfg.id, reason, "going LOOKING");
        for req in std::mem::take(&mut self.inflight) {
            self.out.output(Effect::Abandoned { req });
        }
        let own = self.own_vote();
        self.election.start(self.cfg.id, own);
        self.broadcast_notification();
        if self.quorum(1) {
            // A one-server ensemble elects itself.
            return self.enter_leading();
        }
        Role::Looking
    }

    pub(super) fn looking_step(&mut self, input: Input) -> Role {
        match input {
            Input::Tick => {
                if self.now - self.last_election_send >= self.cfg.election_resend {
                    self.broadcast_notification();
                }
                Role::Looking
            }
            Input::Message {
                from,
                msg: Message::Notification(n),
            } => {
                if !self.cfg.voters.contains(&from) || from == self.cfg.id {
                    return Role::Looking;
                }
                let own = self.own_vote();
                let voters = self.cfg.voters.len();
                let actions = self
                    .election
                    .on_notification(self.cfg.id, own, from, n, |c| c * 2 > voters);
                for a in actions {
                    match a {
                        ElectionAction::Broadcast => self.broadcast_notification(),
                        ElectionAction::Reply(to) => self.notify(to, ServerState::Looking),
                        ElectionAction::Decided(l) if l == self.cfg.id => {
                            return self.enter_leading()
                        }
                        ElectionAction::Decided(l) => return self.enter_following(l),
                    }
                }
                Role::Looking
            }
            Input::Message { .. } => Role::Looking,
            Input::Request { req, .. } => {
                self.out.output(Effect::Unavailable {
                    req,
                    reason: "the server is LOOKING for a leader",
                });
                Role::Looking
            }
        }
    }
}
