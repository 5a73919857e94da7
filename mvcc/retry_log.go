package mvcc

import (
	"time"

	"go.uber.org/zap"
)

// retryLogEvery is how often a failure that a loop keeps retrying is
// logged again. The flush and watch sync loops retry every 100 ms; an
// engine that is away (a plugin restarting, a full disk) would otherwise
// write ten lines a second for each.
const retryLogEvery = 10 * time.Second

// retryLog logs the failures of an operation a loop retries: the first at
// once, then at most once per retryLogEvery with the number of attempts
// that failed so far, and the first success after them. It is used by
// one goroutine at a time.
type retryLog struct {
	failures int
	logged   time.Time
}

func (r *retryLog) failed(log func(string, ...zap.Field), msg string, err error) {
	r.failures++
	if r.failures > 1 && time.Since(r.logged) < retryLogEvery {
		return
	}
	r.logged = time.Now()
	log(msg, zap.Int("failed-attempts", r.failures), zap.Error(err))
}

func (r *retryLog) succeeded(lg *zap.Logger, msg string) {
	if r.failures == 0 {
		return
	}
	lg.Info(msg, zap.Int("failed-attempts", r.failures))
	r.failures = 0
}
