package host

import (
	"context"
	"fmt"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// slowApplyThreshold is etcd's threshold for its slow-request warnings:
// an apply (and a read) slower than it (--warning-apply-duration's
// default, which sets it).
const slowApplyThreshold = 100 * time.Millisecond

// newLogger builds the logger etcd's --logger=zap builds: --log-format
// json (the default) or console, written to each of --log-outputs
// (stderr, stdout, or file paths), at --log-level. The returned level
// changes the logger's level live.
func newLogger(cfg Config) (*zap.Logger, zap.AtomicLevel, error) {
	lvl, err := parseLogLevel(cfg.LogLevel)
	if err != nil {
		return nil, zap.AtomicLevel{}, err
	}
	level := zap.NewAtomicLevelAt(lvl)
	zc := zap.NewProductionConfig()
	zc.Level = level
	zc.Sampling = nil
	zc.Encoding = cfg.LogFormat
	zc.EncoderConfig.TimeKey = "ts"
	zc.EncoderConfig.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	zc.EncoderConfig.EncodeDuration = zapcore.StringDurationEncoder
	zc.OutputPaths = logOutputs(cfg.LogOutputs)
	zc.ErrorOutputPaths = zc.OutputPaths
	lg, err := zc.Build()
	if err != nil {
		return nil, zap.AtomicLevel{}, fmt.Errorf("building the logger: %w", err)
	}
	return lg, level, nil
}

func parseLogLevel(s string) (zapcore.Level, error) {
	var lvl zapcore.Level
	if err := lvl.UnmarshalText([]byte(s)); err != nil {
		return lvl, fmt.Errorf("invalid --log-level %q", s)
	}
	return lvl, nil
}

// logOutputs splits --log-outputs; "default" means stderr, as in etcd.
func logOutputs(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		switch o = strings.TrimSpace(o); o {
		case "":
		case "default":
			out = append(out, "stderr")
		default:
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		out = []string{"stderr"}
	}
	return out
}

// checkLogFormat validates --log-format.
func checkLogFormat(format string) error {
	if format != "json" && format != "console" {
		return fmt.Errorf("invalid value %q for --log-format: want json or console", format)
	}
	return nil
}

// slowReadInterceptor warns, as etcd does, of a range slower than slow
// (--warning-apply-duration). Writes are timed where they are applied.
func slowReadInterceptor(lg *zap.Logger, slow time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		rr, ok := req.(*pb.RangeRequest)
		if !ok {
			return handler(ctx, req)
		}
		start := time.Now()
		resp, err := handler(ctx, req)
		if took := time.Since(start); took > slow {
			fields := []zap.Field{
				zap.Duration("took", took),
				zap.Duration("expected-duration", slow),
				zap.String("prefix", "read-only range "),
				zap.Stringer("request", rangeSummary{rr}),
			}
			if r, ok := resp.(*pb.RangeResponse); ok {
				fields = append(fields, zap.String("response", fmt.Sprintf("range_response_count:%d size:%d", len(r.GetKvs()), proto.Size(r))))
			}
			if err != nil {
				fields = append(fields, zap.Error(err))
			}
			lg.Warn("apply request took too long", fields...)
		}
		return resp, err
	}
}

// rangeSummary prints a range request without its values, as etcd's
// warning does.
type rangeSummary struct{ r *pb.RangeRequest }

func (s rangeSummary) String() string {
	return fmt.Sprintf("key:%q range_end:%q limit:%d serializable:%t keys_only:%t count_only:%t",
		s.r.GetKey(), s.r.GetRangeEnd(), s.r.GetLimit(), s.r.GetSerializable(), s.r.GetKeysOnly(), s.r.GetCountOnly())
}
