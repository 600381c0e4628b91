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
	mu        sync.Mutex
	in, out   []byte
	rbuf      []byte
	state     int
	remaining int64
	err       error
}

func (c *lenientConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.out) == 0 {
		c.process()
		if len(c.out) > 0 {
			break
		}
		if c.err != nil && c.state == stDiscard {
			return 0, io.EOF
		}
		if c.err != nil {
			if len(c.in) > 0 {
				// incomplete framing at EOF: hand over what is left
				c.out, c.in = c.in, nil
				break
			}
			return 0, c.err
		}
		if c.rbuf == nil {
			c.rbuf = make([]byte, 16<<10)
		}
		buf := c.rbuf
		c.mu.Unlock()
		n, err := c.Conn.Read(buf)
		c.mu.Lock()
		if c.state == stDiscard {
			// after the rewritten request: swallow the rest until the
			// server closes the connection (never signal EOF early: the
			// server's background read would abort the pending request)
			n = 0
		}
		c.in = append(c.in, buf[:n]...)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// a read deadline (net/http aborts its background read
				// this way): transient, report it without keeping it
				if len(c.in) > 0 {
					c.process()
				}
				if len(c.out) > 0 {
					break
				}
				return 0, err
			}
			c.err = err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	if len(c.out) == 0 {
		c.out = c.out[:0:0]
	}
	return n, nil
}

func (c *lenientConn) release(n int) {
	c.out = append(c.out, c.in[:n]...)
	c.in = c.in[n:]
}

// process moves framed bytes from in to out.
func (c *lenientConn) process() {
	for len(c.in) > 0 {
		switch c.state {
		case stPass:
			c.release(len(c.in))
		case stDiscard:
			c.in = nil
		case stBody, stChunkData:
			n := int64(len(c.in))
			if n > c.remaining {
				n = c.remaining
			}
			c.release(int(n))
			c.remaining -= n
			if c.remaining == 0 {
				if c.state == stBody {
					c.state = stHeader
				} else {
					c.state = stChunkSize
				}
			}
		case stChunkSize, stTrailer:
			i := bytes.Index(c.in, []byte("\r\n"))
			if i < 0 {
				if len(c.in) > 64<<10 {
					c.state = stPass
					continue
				}
				return
			}
			line := string(c.in[:i])
			c.release(i + 2)
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
			if c.in[0] == '\r' || c.in[0] == '\n' {
				c.release(1)
				continue
			}
			i := bytes.Index(c.in, []byte("\r\n\r\n"))
			if i < 0 {
				if len(c.in) > maxHeaderScan {
					c.state = stPass
					continue
				}
				return
			}
			c.header(i + 4)
		}
	}
}

// header examines one complete header block of n bytes.
func (c *lenientConn) header(n int) {
	block := string(c.in[:n])
	lines := strings.Split(strings.TrimSuffix(block, "\r\n\r\n"), "\r\n")
	var cl string
	clLine, chunked, badCL := -1, false, false
	for i, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			cl, clLine = strings.TrimSpace(value), i+1
			if _, err := strconv.ParseUint(cl, 10, 63); err != nil {
				badCL = true
			}
		case "transfer-encoding":
			chunked = chunked || strings.Contains(strings.ToLower(value), "chunked")
		}
	}
	switch {
	case badCL && !chunked:
		lines[clLine] = InvalidContentLengthHeader + ": " + cl
		lines = append(lines, "Connection: close")
		c.out = append(c.out, []byte(strings.Join(lines, "\r\n")+"\r\n\r\n")...)
		c.in = nil
		c.state = stDiscard
	case chunked:
		c.release(n)
		c.state = stChunkSize
	case cl != "":
		c.release(n)
		size, _ := strconv.ParseInt(cl, 10, 64)
		if size > 0 {
			c.state, c.remaining = stBody, size
		}
	default:
		c.release(n)
	}
}
