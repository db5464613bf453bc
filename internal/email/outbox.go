package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Outbox is the local stack's sender: each message becomes one .eml file
// (headers, text and HTML parts; any mail client opens it) in a folder, and
// a log line shows its recipients, subject and links, so a developer can
// follow an invitation link from the terminal. It is no relation of the
// transactional outbox (internal/outbox), which feeds the notifier.
//
// The links it logs carry one-time tokens: that is what it is for, and why
// only the local stack uses it.
type Outbox struct {
	dir  string
	from string
	log  *slog.Logger
	now  func() time.Time
}

// NewOutbox writes into dir (created if missing) and logs to logger, or to
// a JSON logger on standard error when logger is nil.
func NewOutbox(dir, from string, logger *slog.Logger) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("email: create outbox folder: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	return &Outbox{dir: dir, from: from, log: logger, now: time.Now}, nil
}

// Dir is the folder the messages are written to.
func (o *Outbox) Dir() string { return o.dir }

// Send writes m as <time>-<event id>.eml. The file appears whole or not at
// all.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return &SendError{Class: Unclassified, Err: err}
	}
	now := o.now().UTC()
	raw, err := o.format(m, now)
	if err != nil {
		return &SendError{Class: Unclassified, Err: err}
	}
	name := now.Format("20060102T150405.000000000Z") + "-" + fileSafe(m.EventID) + ".eml"
	path := filepath.Join(o.dir, name)
	if err := writeFileAtomic(path, raw); err != nil {
		return &SendError{Class: Unclassified, Err: fmt.Errorf("write %s: %w", name, err)}
	}
	body := m.Text
	if body == "" {
		body = m.HTML
	}
	o.log.InfoContext(ctx, "email written to the outbox folder",
		"event_id", m.EventID,
		"to", m.To,
		"subject", m.Subject,
		"links", Links(body),
		"file", path)
	return nil
}

func (o *Outbox) format(m Message, date time.Time) ([]byte, error) {
	var buf bytes.Buffer
	parts := multipart.NewWriter(&buf)
	header := []struct{ name, value string }{
		{"From", o.from},
		{"To", strings.Join(m.To, ", ")},
		{"Subject", mime.QEncoding.Encode("utf-8", m.Subject)},
		{"Date", date.Format(time.RFC1123Z)},
		{"Message-ID", "<" + fileSafe(m.EventID) + "." + randomHex(6) + "@integration-hub.local>"},
		{"X-Hub-Event-Id", m.EventID},
		{"MIME-Version", "1.0"},
		{"Content-Type", `multipart/alternative; boundary="` + parts.Boundary() + `"`},
	}
	for _, h := range header {
		fmt.Fprintf(&buf, "%s: %s\r\n", h.name, h.value)
	}
	buf.WriteString("\r\n")
	for _, part := range []struct{ contentType, body string }{
		{"text/plain; charset=utf-8", m.Text},
		{"text/html; charset=utf-8", m.HTML},
	} {
		if part.body == "" {
			continue
		}
		if err := writePart(parts, part.contentType, part.body); err != nil {
			return nil, err
		}
	}
	if err := parts.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// maxLineLength is RFC 5322's limit on a line of a message.
const maxLineLength = 998

// writePart keeps the body as it is (8bit) when its lines allow it, so the
// file reads as plain text, links included; it falls back to
// quoted-printable otherwise.
func writePart(parts *multipart.Writer, contentType, body string) error {
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	encoding := "8bit"
	for line := range strings.SplitSeq(body, "\r\n") {
		if len(line) > maxLineLength {
			encoding = "quoted-printable"
			break
		}
	}
	w, err := parts.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {contentType},
		"Content-Transfer-Encoding": {encoding},
	})
	if err != nil {
		return err
	}
	if encoding == "8bit" {
		_, err = w.Write([]byte(body))
		return err
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(body)); err != nil {
		return err
	}
	return qp.Close()
}

var linkPattern = regexp.MustCompile(`https?://[^\s<>"']+`)

// Links lists the distinct http(s) links of a body, in order.
func Links(body string) []string {
	var links []string
	seen := map[string]bool{}
	for _, link := range linkPattern.FindAllString(body, -1) {
		link = strings.TrimRight(link, ".,;:!?)")
		if !seen[link] {
			seen[link] = true
			links = append(links, link)
		}
	}
	return links
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".partial-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// fileSafe keeps the characters of an id that are safe in a file name and a
// Message-ID.
func fileSafe(id string) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return -1
	}, id)
	if safe == "" {
		return "message"
	}
	return safe
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
