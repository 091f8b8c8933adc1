package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/seance-go/seance/bench/internal/child"
)

// proc is a child process of the run: JSON lines on its stdout, stderr to
// a log file, stopped by closing its stdin.
type proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan []byte
	done  chan struct{}
	err   error
}

func (r *runner) start(name, bin string, args ...string) (*proc, error) {
	return r.startEnv(name, bin, nil, args...)
}

// startEnv is start with variables added to the environment.
func (r *runner) startEnv(name, bin string, env []string, args ...string) (*proc, error) {
	return r.startOn(name, bin, "", env, args...)
}

// startOn is startEnv on the CPUs of cpus (taskset -c; "": any).
func (r *runner) startOn(name, bin, cpus string, env []string, args ...string) (*proc, error) {
	cmd := exec.Command(filepath.Join(r.binDir, bin), args...)
	if cpus != "" {
		cmd = exec.Command("taskset", append([]string{"-c", cpus, filepath.Join(r.binDir, bin)}, args...)...)
	}
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logf, err := os.Create(filepath.Join(r.logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, stdin: in, lines: make(chan []byte, 64), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			p.lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(p.lines)
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	r.procs = append(r.procs, p)
	return p, nil
}

// next decodes the next JSON line into v.
func (p *proc) next(ctx context.Context, timeout time.Duration, v any) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-p.lines:
		if !ok {
			<-p.done
			return fmt.Errorf("%s exited (%v) without a result; see results/logs/%s.log", p.name, p.err, p.name)
		}
		if err := json.Unmarshal(line, v); err != nil {
			return fmt.Errorf("%s: %w in %.200q", p.name, err, line)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("%s: no result within %v", p.name, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send writes one command line to the child.
func (p *proc) send(line string) error {
	_, err := io.WriteString(p.stdin, line+"\n")
	return err
}

// stop closes stdin and waits; a child still running after 10 s is killed.
func (p *proc) stop() {
	p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// startServer starts a server child and waits for its ready line.
func (r *runner) startServer(ctx context.Context, name, bin string, args ...string) (*proc, child.Ready, error) {
	var env []string
	if r.cfg.procs > 0 {
		env = []string{"GOMAXPROCS=" + strconv.Itoa(r.cfg.procs)}
	}
	return r.startServerOn(ctx, name, bin, "", env, args...)
}

// startServerOn is startServer on the CPUs of cpus, with env.
func (r *runner) startServerOn(ctx context.Context, name, bin, cpus string, env []string, args ...string) (*proc, child.Ready, error) {
	p, err := r.startOn(name, bin, cpus, env, args...)
	if err != nil {
		return nil, child.Ready{}, err
	}
	var ready child.Ready
	if err := p.next(ctx, 30*time.Second, &ready); err != nil {
		p.stop()
		return nil, ready, err
	}
	if ready.Addr == "" {
		p.stop()
		return nil, ready, errors.New(name + ": no address in its ready line")
	}
	return p, ready, nil
}

// runLoad runs a bench-load child to completion and decodes its last line.
func (r *runner) runLoad(ctx context.Context, name string, timeout time.Duration, v any, args ...string) error {
	return r.runLoadOn(ctx, name, "", nil, timeout, v, args...)
}

// runLoadOn is runLoad on the CPUs of cpus, with env.
func (r *runner) runLoadOn(ctx context.Context, name, cpus string, env []string, timeout time.Duration, v any, args ...string) error {
	p, err := r.startOn(name, "bench-load", cpus, env, args...)
	if err != nil {
		return err
	}
	defer p.stop()
	return p.next(ctx, timeout, v)
}
