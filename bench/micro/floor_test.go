package micro

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// floorFrame is the size of the frame the floor benchmarks write: about a
// broadcast's, header included.
const floorFrame = 120

// BenchmarkLoopbackFloor is the floor under row 3 of the harness: the
// kernel's cost of writing one 120-byte frame to each of 2,000 loopback TCP
// sockets, with nothing else going on — no WebSocket, no encoding, and
// nobody reading during the timed writes. writers=1 is a plain loop (as the
// raw baseline server); writers=N splits the sockets over N goroutines. A
// broadcast to 2,000 WebSocket subscribers cannot finish sooner than this on
// the same machine.
func BenchmarkLoopbackFloor(b *testing.B) {
	srv, cli := loopbackPairs(b, 2000)
	frame := make([]byte, floorFrame)
	for _, writers := range []int{1, 2, 4} {
		b.Run("writers="+strconv.Itoa(writers), func(b *testing.B) {
			var cpu cpuMeter
			for b.Loop() {
				cpu.begin()
				floorWrite(b, srv, frame, writers)
				cpu.end()
				b.StopTimer()
				floorDrain(b, cli)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/broadcast")
			cpu.report(b)
		})
	}
}

// loopbackPairs opens n loopback TCP connections, closed when b ends:
// the server's and the client's ends.
func loopbackPairs(b *testing.B, n int) (srv, cli []net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	srv = make([]net.Conn, 0, n)
	cli = make([]net.Conn, 0, n)
	b.Cleanup(func() {
		for _, c := range append(srv, cli...) {
			c.Close()
		}
	})
	for range n {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatalf("opening %d loopback connections: %v", n, err)
		}
		s, err := ln.Accept()
		if err != nil {
			b.Fatal(err)
		}
		cli, srv = append(cli, c), append(srv, s)
	}
	return srv, cli
}

// floorWrite writes frame to every socket of srv, split over writers
// goroutines.
func floorWrite(b *testing.B, srv []net.Conn, frame []byte, writers int) {
	per := (len(srv) + writers - 1) / writers
	var wg sync.WaitGroup
	for w := range writers {
		part := srv[w*per : min((w+1)*per, len(srv))]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, s := range part {
				if _, err := s.Write(frame); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// floorDrain reads the frame each client of floorWrite received, so that
// socket buffers do not fill up over the iterations.
func floorDrain(b *testing.B, cli []net.Conn) {
	var buf [floorFrame]byte
	for _, c := range cli {
		if _, err := io.ReadFull(c, buf[:]); err != nil {
			b.Fatal(err)
		}
	}
}
