package longpoll

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

const (
	defaultMaxSessions      = 10_000
	defaultMaxSessionsPerIP = 100
)

// RemoteIP is the default Options.ClientIP: the host part of r.RemoteAddr,
// the address of the peer of the TCP connection (behind a reverse proxy,
// the proxy's).
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ForwardedFor returns an Options.ClientIP for a server behind reverse
// proxies whose addresses are in trusted. A request from a trusted peer
// names its client by X-Forwarded-For, read from the right: the first
// address that is not a trusted proxy (what the outermost trusted proxy
// saw; addresses left of it are the client's own claims and are never
// used). A request from any other peer, or whose header holds no such
// address, is named by its peer, as [RemoteIP] does.
func ForwardedFor(trusted ...netip.Prefix) func(r *http.Request) string {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer := RemoteIP(r)
		a, err := netip.ParseAddr(peer)
		if err != nil || !isTrusted(a) {
			return peer
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				return peer
			}
			if !isTrusted(a) {
				return a.Unmap().String()
			}
		}
		return peer
	}
}

// clientKey is what the per-client cap counts by: the address ClientIP
// returned, an IPv6 address reduced to its /64 (a single host is commonly
// given a whole /64), anything that is not an address as it is.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// reserve counts a session about to be opened for client against
// MaxSessions and MaxSessionsPerIP, and reports false (counting nothing)
// when either is reached. A reservation is released by [Handler.unreserve]
// when the session fails to open, or by its cleanup.
func (h *Handler) reserve(client string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.reserved >= h.opts.MaxSessions || h.perClient[client] >= h.opts.MaxSessionsPerIP {
		return false
	}
	h.reserved++
	h.perClient[client]++
	return true
}

// unreserve releases a reservation of [Handler.reserve].
func (h *Handler) unreserve(client string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unreserveLocked(client)
}

func (h *Handler) unreserveLocked(client string) {
	h.reserved--
	if h.perClient[client]--; h.perClient[client] <= 0 {
		delete(h.perClient, client)
	}
}
