package main

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// contactURL is the address of the page embedding <contact-form> from
// another origin, on the host name the visitor used; "" when it is off.
func (a *app) contactURL(r *http.Request) string {
	if a.embedPort == "" {
		return ""
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, a.embedPort), Path: "/"}).String()
}

// embedOrigins are the origins of the embedding page at embedAddr (its port
// on localhost and 127.0.0.1, and on its host if it names one), which may
// open the socket by default; none when embedAddr is "".
func embedOrigins(embedAddr string) []string {
	if embedAddr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(embedAddr)
	if err != nil || port == "" || port == "0" {
		return nil
	}
	out := []string{"http://" + net.JoinHostPort("localhost", port), "http://" + net.JoinHostPort("127.0.0.1", port)}
	if host != "" && host != "localhost" && host != "127.0.0.1" && host != "0.0.0.0" && host != "::" {
		out = append(out, "http://"+net.JoinHostPort(strings.Trim(host, "[]"), port))
	}
	return out
}
