package web

import (
	"io"
	"log/slog"
)

// NewLogger is the JSON logger every function uses (CloudWatch reads one
// JSON object per line).
func NewLogger(w io.Writer, function string) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo})).With(slog.String("function", function))
}
