package placementhttp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
)

// InvalidContentLengthHeader carries, to the handler, the value of a
// Content-Length header that is not an integer (see LenientListener).
const InvalidContentLengthHeader = "X-Placement-Invalid-Content-Length"

// LenientListener wraps a listener so that a request whose Content-Length
// header is not an integer reaches the handler, which answers it as
// Placement does (400 "content-length header must be an integer"), instead
// of being refused by net/http with a bare "400 Bad Request" before any
// handler runs. The header is renamed to InvalidContentLengthHeader and the
// connection is closed after that request. Other requests pass unchanged.
func LenientListener(ln net.Listener) net.Listener { return lenientListener{ln} }

type lenientListener struct{ net.Listener }

func (l lenientListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lenientConn{Conn: c}, nil
}

const (
	stHeader = iota
	stBody
	stChunkSize
	stChunkData
	stTrailer
	stPass
	stDiscard
)

const maxHeaderScan = 1 << 20

type lenientConn struct {
	net.Conn
	mu sync.Mutex
	// buf[off:] is what was read and not handed over yet; its first ready
	// bytes are framed (may be handed over), the rest is still examined.
	buf        []byte
	off, ready int
	rewritten  []byte // a rewritten header block, handed over after ready
	state      int
	remaining  int64
	err        error
}

const lenientBufSize = 16 << 10

func (c *lenientConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.ready > 0 {
			n := copy(p, c.buf[c.off:c.off+c.ready])
			c.off += n
			c.ready -= n
			if c.off == len(c.buf) {
				c.buf, c.off = c.buf[:0], 0
			}
			return n, nil
		}
		if len(c.rewritten) > 0 {
			n := copy(p, c.rewritten)
			c.rewritten = c.rewritten[n:]
			return n, nil
		}
		c.process()
		if c.ready > 0 || len(c.rewritten) > 0 {
			continue
		}
		if c.err != nil && c.state == stDiscard {
			return 0, io.EOF
		}
		if c.err != nil {
			if c.off < len(c.buf) {
				// incomplete framing at EOF: hand over what is left
				c.ready = len(c.buf) - c.off
				continue
			}
			return 0, c.err
		}
		c.makeRoom()
		buf := c.buf[len(c.buf):min(cap(c.buf), len(c.buf)+lenientBufSize)]
		c.mu.Unlock()
		n, err := c.Conn.Read(buf)
		c.mu.Lock()
		if c.state == stDiscard {
			// after the rewritten request: swallow the rest until the
			// server closes the connection (never signal EOF early: the
			// server's background read would abort the pending request)
			n = 0
		}
		c.buf = c.buf[:len(c.buf)+n]
		if err != nil {
			if isTimeout(err) {
				// a read deadline (net/http aborts its background read
				// this way): transient, report it without keeping it
				c.process()
				if c.ready > 0 || len(c.rewritten) > 0 {
					continue
				}
				return 0, err
			}
			c.err = err
		}
	}
}

// makeRoom makes free space at the end of buf: the unread bytes move to
// the front, and the buffer grows when they fill it (bounded by process,
// which stops examining a header block beyond maxHeaderScan).
func (c *lenientConn) makeRoom() {
	if c.buf == nil {
		c.buf = make([]byte, 0, lenientBufSize)
	}
	if c.off > 0 {
		n := copy(c.buf, c.buf[c.off:])
		c.buf, c.off = c.buf[:n], 0
	}
	if len(c.buf) == cap(c.buf) {
		c.buf = append(c.buf, make([]byte, cap(c.buf))...)[:len(c.buf)]
	}
}

// process frames the bytes after the ready ones.
func (c *lenientConn) process() {
	for c.off+c.ready < len(c.buf) {
		in := c.buf[c.off+c.ready:]
		switch c.state {
		case stPass:
			c.ready += len(in)
		case stDiscard:
			c.buf = c.buf[:c.off+c.ready]
		case stBody, stChunkData:
			n := int64(len(in))
			if n > c.remaining {
				n = c.remaining
			}
			c.ready += int(n)
			c.remaining -= n
			if c.remaining == 0 {
				if c.state == stBody {
					c.state = stHeader
				} else {
					c.state = stChunkSize
				}
			}
		case stChunkSize, stTrailer:
			i := bytes.Index(in, []byte("\r\n"))
			if i < 0 {
				if len(in) > 64<<10 {
					c.state = stPass
					continue
				}
				return
			}
			line := string(in[:i])
			c.ready += i + 2
			if c.state == stTrailer {
				if line == "" {
					c.state = stHeader
				}
				continue
			}
			sizeStr, _, _ := strings.Cut(line, ";")
			size, err := strconv.ParseInt(strings.TrimSpace(sizeStr), 16, 64)
			if err != nil || size < 0 {
				c.state = stPass
				continue
			}
			if size == 0 {
				c.state = stTrailer
			} else {
				c.state, c.remaining = stChunkData, size+2
			}
		case stHeader:
			// skip the empty lines some clients send between requests
			if in[0] == '\r' || in[0] == '\n' {
				c.ready++
				continue
			}
			i := bytes.Index(in, []byte("\r\n\r\n"))
			if i < 0 {
				if len(in) > maxHeaderScan {
					c.state = stPass
					continue
				}
				return
			}
			c.header(in[:i+4])
		}
	}
}

// header examines one complete header block (the bytes after the ready
// ones).
func (c *lenientConn) header(block []byte) {
	n := len(block)
	var cl []byte
	chunked, badCL := false, false
	lines := block[:n-4]
	// skip the request line
	if i := bytes.Index(lines, []byte("\r\n")); i >= 0 {
		lines = lines[i+2:]
	} else {
		lines = nil
	}
	for len(lines) > 0 {
		l := lines
		if i := bytes.Index(lines, []byte("\r\n")); i >= 0 {
			l, lines = lines[:i], lines[i+2:]
		} else {
			lines = nil
		}
		colon := bytes.IndexByte(l, ':')
		if colon < 0 {
			continue
		}
		name := bytes.TrimSpace(l[:colon])
		switch {
		case asciiEqualFold(name, "content-length"):
			cl = bytes.TrimSpace(l[colon+1:])
			if _, err := strconv.ParseUint(string(cl), 10, 63); err != nil {
				badCL = true
			}
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = chunked || strings.Contains(strings.ToLower(string(l[colon+1:])), "chunked")
		}
	}
	switch {
	case badCL && !chunked:
		c.rewritten = rewriteContentLength(string(block))
		c.buf = c.buf[:c.off+c.ready]
		c.state = stDiscard
	case chunked:
		c.ready += n
		c.state = stChunkSize
	case cl != nil:
		c.ready += n
		size, _ := strconv.ParseInt(string(cl), 10, 64)
		if size > 0 {
			c.state, c.remaining = stBody, size
		}
	default:
		c.ready += n
	}
}

// asciiEqualFold reports whether b equals the lower-case ASCII lower,
// ignoring ASCII case (what strings.ToLower(b) == lower means for these
// header names, none of which has a letter that a non-ASCII rune lowers
// to).
func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// rewriteContentLength renames the (last) Content-Length header of a
// header block whose Content-Length is not an integer, and asks for the
// connection to be closed after the request.
func rewriteContentLength(block string) []byte {
	lines := strings.Split(strings.TrimSuffix(block, "\r\n\r\n"), "\r\n")
	var cl string
	clLine := -1
	for i, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if ok && strings.ToLower(strings.TrimSpace(name)) == "content-length" {
			cl, clLine = strings.TrimSpace(value), i+1
		}
	}
	lines[clLine] = InvalidContentLengthHeader + ": " + cl
	lines = append(lines, "Connection: close")
	return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n")
}

// isTimeout reports whether err is a net.Error timeout (a read deadline).
func isTimeout(err error) bool {
	if ne, ok := err.(net.Error); ok {
		return ne.Timeout()
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
