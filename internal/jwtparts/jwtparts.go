// Package jwtparts reads a compact JWT once: its header's alg and kid, its
// payload's bytes and its signature, so that a verifier that must look at
// a token before choosing its keys (the marketplace's issuer, a session's
// issuer) does not decode it again to verify it. The signature is checked
// by golang-jwt's signing methods and the claims by its Validator: this
// package only splits and decodes, as golang-jwt's parser does.
package jwtparts

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Errors of Split, matching golang-jwt's own classes: a token that cannot
// be read (segments, base64, JSON) is malformed; one whose alg golang-jwt
// does not know, or that names none, is unverifiable.
var (
	ErrMalformed    = jwt.ErrTokenMalformed
	ErrUnverifiable = jwt.ErrTokenUnverifiable
)

// Parts are a token's three segments, decoded.
type Parts struct {
	// Alg is the header's alg, a signing method golang-jwt knows.
	Alg    string
	Method jwt.SigningMethod
	// KeyID is the header's kid; "" when it is absent or not a string.
	KeyID string
	// Payload is the claims' JSON as the token carries it: it starts as
	// an object; the caller decodes it, and refuses it if it is not one.
	Payload []byte
	// signingString is header.payload, what the signature covers.
	signingString string
	signature     []byte
}

// Split decodes token as golang-jwt's parser does (unpadded base64url
// segments, a JSON header naming a known alg), without verifying
// anything. Header names are exact ("ALG" is not alg), as golang-jwt
// reads them.
func Split(token string) (Parts, error) {
	headSeg, rest, ok := strings.Cut(token, ".")
	payloadSeg, sigSeg, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.Contains(sigSeg, ".") {
		return Parts{}, fmt.Errorf("%w: not three segments", ErrMalformed)
	}
	h, err := readHeader(headSeg)
	if err != nil {
		return Parts{}, err
	}
	p := Parts{Alg: h.alg, Method: h.method, KeyID: h.kid, signingString: token[:len(headSeg)+1+len(payloadSeg)]}
	if p.Payload, err = base64.RawURLEncoding.DecodeString(payloadSeg); err != nil {
		return Parts{}, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if trimmed := bytes.TrimLeft(p.Payload, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return Parts{}, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	if p.signature, err = base64.RawURLEncoding.DecodeString(sigSeg); err != nil {
		return Parts{}, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	return p, nil
}

// header is what Split reads of a header segment.
type header struct {
	alg    string
	method jwt.SigningMethod
	kid    string
}

// headers keeps the headers read before, by their segment: a signer puts
// the same header on every token, so a warm verifier decodes it once. A
// header is a pure function of its segment, so an entry can never answer
// for another; only headers read without error are kept.
var headers = struct {
	sync.Mutex
	m map[string]header
}{m: map[string]header{}}

// Bounds of the header cache: past maxHeaders entries it is emptied, and
// a segment over maxHeaderSegment bytes is never kept.
const (
	maxHeaders       = 256
	maxHeaderSegment = 512
)

func readHeader(seg string) (header, error) {
	headers.Lock()
	h, ok := headers.m[seg]
	headers.Unlock()
	if ok {
		return h, nil
	}
	h, err := decodeHeader(seg)
	if err != nil || len(seg) > maxHeaderSegment {
		return h, err
	}
	headers.Lock()
	if len(headers.m) >= maxHeaders {
		clear(headers.m)
	}
	headers.m[seg] = h
	headers.Unlock()
	return h, nil
}

func decodeHeader(seg string) (header, error) {
	head, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return header{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(head, &fields); err != nil || fields == nil {
		return header{}, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	var h header
	if err := json.Unmarshal(fields["alg"], &h.alg); err != nil || h.alg == "" {
		return header{}, fmt.Errorf("%w: no alg", ErrUnverifiable)
	}
	if h.method = jwt.GetSigningMethod(h.alg); h.method == nil {
		return header{}, fmt.Errorf("%w: unknown alg", ErrUnverifiable)
	}
	if raw, ok := fields["kid"]; ok && len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &h.kid); err != nil {
			return header{}, fmt.Errorf("%w: kid: %v", ErrMalformed, err)
		}
	}
	return h, nil
}

// ErrSignature: no key offered verifies the signature.
var ErrSignature = jwt.ErrTokenSignatureInvalid

// Verify checks the signature with each key in turn, as golang-jwt's
// VerificationKeySet does, and succeeds on the first that verifies.
func (p Parts) Verify(keys ...any) error {
	if len(keys) == 0 {
		return fmt.Errorf("%w: no key", ErrUnverifiable)
	}
	var err error
	for _, k := range keys {
		if err = p.Method.Verify(p.signingString, p.signature, k); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%w: %w", ErrSignature, err)
}

// Allowed reports whether the token's alg is one of methods.
func (p Parts) Allowed(methods []string) error {
	for _, m := range methods {
		if m == p.Alg {
			return nil
		}
	}
	return fmt.Errorf("%w: signing method %s is not allowed", ErrSignature, p.Alg)
}

// Member is one member of a JSON object: its name and its value's JSON,
// which shares the object's bytes.
type Member struct {
	Name  string
	Value json.RawMessage
}

// Object is a JSON object's members in order.
type Object []Member

// Get returns the value of the member named exactly name (the last one,
// when the object repeats a name, as encoding/json decodes it), and false
// when there is none or it is null.
func (o Object) Get(name string) (json.RawMessage, bool) {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].Name == name {
			v := o[i].Value
			return v, string(v) != "null"
		}
	}
	return nil, false
}

// ReadObject splits a JSON object into its members without decoding their
// values: what json.Unmarshal into map[string]json.RawMessage gives, in
// order, without copying each value. Anything but one valid JSON object
// is an error.
func ReadObject(data []byte) (Object, error) {
	if !json.Valid(data) {
		return nil, errNotObject
	}
	s := scanner{data: data}
	s.space()
	if !s.take('{') {
		return nil, errNotObject
	}
	obj := make(Object, 0, 8)
	s.space()
	if s.take('}') {
		return obj, nil
	}
	for {
		s.space()
		name, err := s.name()
		if err != nil {
			return nil, err
		}
		s.space()
		s.take(':')
		s.space()
		start := s.pos
		s.value()
		obj = append(obj, Member{Name: name, Value: data[start:s.pos:s.pos]})
		s.space()
		if s.take('}') {
			return obj, nil
		}
		s.take(',')
	}
}

var errNotObject = fmt.Errorf("%w: not a JSON object", ErrMalformed)

// scanner walks JSON that json.Valid accepted, so it checks nothing but
// where each token ends.
type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) take(c byte) bool {
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// name reads a member's name; one with escapes or bytes that are not
// UTF-8 is decoded by encoding/json, as json.Unmarshal would.
func (s *scanner) name() (string, error) {
	start := s.pos
	plain := s.str()
	raw := s.data[start:s.pos]
	if plain && utf8.Valid(raw) {
		return string(raw[1 : len(raw)-1]), nil
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return "", fmt.Errorf("%w: member name: %v", ErrMalformed, err)
	}
	return name, nil
}

// str skips a string at pos and reports whether it had no escapes.
func (s *scanner) str() (plain bool) {
	plain = true
	s.pos++ // the opening quote
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '\\':
			plain = false
			s.pos += 2
			continue
		case '"':
			s.pos++
			return plain
		}
		s.pos++
	}
	return plain
}

// value skips one value at pos.
func (s *scanner) value() {
	if s.pos >= len(s.data) {
		return
	}
	switch s.data[s.pos] {
	case '"':
		s.str()
	case '{', '[':
		depth := 0
		for s.pos < len(s.data) {
			switch s.data[s.pos] {
			case '"':
				s.str()
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.pos++
					return
				}
			}
			s.pos++
		}
	default: // a number, true, false or null
		for s.pos < len(s.data) {
			switch s.data[s.pos] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return
			}
			s.pos++
		}
	}
}
