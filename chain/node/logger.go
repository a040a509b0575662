package node

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unicode"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// cometLogger adapts CometBFT's key/value logger to slog, with snake_case
// keys. CometBFT's Info is chatty; it maps to slog Debug unless
// infoAsInfo, so a node at level info logs our application's events and
// CometBFT's errors.
type cometLogger struct {
	l          *slog.Logger
	infoAsInfo bool
}

// NewCometLogger returns a CometBFT logger writing to l.
func NewCometLogger(l *slog.Logger, verbose bool) cmtlog.Logger {
	return cometLogger{l: l, infoAsInfo: verbose}
}

func (c cometLogger) Debug(msg string, kv ...any) { c.log(slog.LevelDebug, msg, kv) }

func (c cometLogger) Info(msg string, kv ...any) {
	lvl := slog.LevelDebug
	if c.infoAsInfo {
		lvl = slog.LevelInfo
	}
	c.log(lvl, msg, kv)
}

func (c cometLogger) Error(msg string, kv ...any) { c.log(slog.LevelError, msg, kv) }

func (c cometLogger) With(kv ...any) cmtlog.Logger {
	return cometLogger{l: c.l.With(attrs(kv)...), infoAsInfo: c.infoAsInfo}
}

func (c cometLogger) log(lvl slog.Level, msg string, kv []any) {
	if !c.l.Enabled(context.Background(), lvl) {
		return
	}
	c.l.Log(context.Background(), lvl, msg, attrs(kv)...)
}

func attrs(kv []any) []any {
	out := make([]any, 0, len(kv))
	for i := 0; i < len(kv); i += 2 {
		key := snake(fmt.Sprint(kv[i]))
		if i+1 >= len(kv) {
			out = append(out, slog.String(key, "(missing)"))
			break
		}
		var v any
		switch x := kv[i+1].(type) {
		case string, bool, int, int32, int64, uint, uint32, uint64, error:
			v = x
		case fmt.Stringer:
			v = x.String()
		case []byte:
			v = fmt.Sprintf("%X", x)
		default:
			v = fmt.Sprint(x)
		}
		out = append(out, slog.Any(key, v))
	}
	return out
}

// snake turns camelCase keys into snake_case.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		if r == '-' || r == ' ' {
			r = '_'
		}
		b.WriteRune(r)
	}
	return b.String()
}
