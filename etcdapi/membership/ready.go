package membership

// The readiness rules of etcd's strict reconfiguration check, counted over
// the voters' records: a voter is started once it has published its
// attributes.

// quorumOf reports whether started voters make a majority of voters.
func quorumOf(started, voters int) bool { return started >= voters/2+1 }

// ReadyToAddVoter is etcd's IsReadyToAddVotingMember: after the add, the
// started voters must still make a quorum.
func (c *Cluster) ReadyToAddVoter() bool {
	started, voters := c.countVoters(0)
	voters++ // the voter added, not started yet
	if started == 1 && voters == 2 {
		return true // growing a one-member cluster
	}
	return quorumOf(started, voters)
}

// ReadyToRemoveVoter is etcd's IsReadyToRemoveVotingMember: without voter
// id, the started voters must make a quorum.
func (c *Cluster) ReadyToRemoveVoter(id uint64) bool {
	return quorumOf(c.countVoters(id))
}

// ReadyToPromote is etcd's IsReadyToPromoteMember: with the learner to
// promote counted as a started voter, the started voters must make a quorum.
func (c *Cluster) ReadyToPromote() bool {
	started, voters := c.countVoters(0)
	return quorumOf(started+1, voters+1)
}

// countVoters counts the voters other than except, and how many of them
// started.
func (c *Cluster) countVoters(except uint64) (started, voters int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, m := range c.members {
		if m.IsLearner || (except != 0 && m.ID == except) {
			continue
		}
		voters++
		if m.Started() {
			started++
		}
	}
	return started, voters
}
