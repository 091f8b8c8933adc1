package adaptertest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards TCP connections to a server and can silently black-hole
// the connections it carries, as a network partition does: the sockets stay
// open, bytes vanish. Point one node's broker connections at it to stall
// that node's link alone.
type Proxy struct {
	// Addr is the proxy's "127.0.0.1:port".
	Addr string

	target string
	l      net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []*proxyConn
	stall  atomic.Bool // new connections are frozen too
}

type proxyConn struct {
	a, b   net.Conn
	frozen atomic.Bool
}

// NewProxy starts a proxy to target, stopped at the end of the test.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), target: target, l: l}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		a, err := p.l.Accept()
		if err != nil {
			return
		}
		b, err := net.Dial("tcp", p.target)
		if err != nil {
			a.Close()
			continue
		}
		c := &proxyConn{a: a, b: b}
		c.frozen.Store(p.stall.Load())
		p.mu.Lock()
		p.conns = append(p.conns, c)
		p.mu.Unlock()
		p.wg.Add(2)
		go c.pipe(&p.wg, a, b)
		go c.pipe(&p.wg, b, a)
	}
}

func (c *proxyConn) pipe(wg *sync.WaitGroup, src, dst net.Conn) {
	defer wg.Done()
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !c.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Freeze black-holes every connection open now; later ones work.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.frozen.Store(true)
	}
}

// Stall black-holes every connection, those open now and those to come,
// as a broker that stopped answering this node.
func (p *Proxy) Stall() {
	p.stall.Store(true)
	p.Freeze()
}

// Resume ends a Stall: the black-holed connections are closed (the bytes
// they lost would corrupt their streams, as after a long partition whose
// connections time out) and new ones are forwarded, so the clients
// reconnect.
func (p *Proxy) Resume() {
	p.stall.Store(false)
	p.mu.Lock()
	defer p.mu.Unlock()
	live := p.conns[:0]
	for _, c := range p.conns {
		if c.frozen.Load() {
			c.a.Close()
			c.b.Close()
			continue
		}
		live = append(live, c)
	}
	clear(p.conns[len(live):])
	p.conns = live
}

func (p *Proxy) close() {
	p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.a.Close()
		c.b.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
