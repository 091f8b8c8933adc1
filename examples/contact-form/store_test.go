package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// postgresURL is the test database: TEST_DATABASE_URL, else the local
// server (trust auth, database test).
func postgresURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// openPostgres opens a Store in a new schema of the test database, dropped
// at the end. It skips without PostgreSQL, except under CI=true where it
// fails.
func openPostgres(t *testing.T) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", postgresURL())
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s: %v (required under CI=true)", postgresURL(), err)
		}
		t.Skipf("PostgreSQL at %s not reachable: %v", postgresURL(), err)
	}
	schema := fmt.Sprintf("contact_form_test_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping %s: %v", schema, err)
		}
		admin.Close()
	})
	sep := "?"
	if strings.Contains(postgresURL(), "?") {
		sep = "&"
	}
	s, err := OpenStore(ctx, postgresURL()+sep+"search_path="+schema, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openSQLite(t *testing.T) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), "", filepath.Join(t.TempDir(), "contacts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// stores are the two databases every store test runs against.
var stores = []struct {
	name string
	open func(*testing.T) *Store
}{
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
}

func TestStore(t *testing.T) {
	for _, db := range stores {
		t.Run(db.name, func(t *testing.T) {
			s := db.open(t)
			if s.Dialect() != db.name {
				t.Fatalf("Dialect = %q", s.Dialect())
			}
			ctx := context.Background()
			at := time.Date(2026, 12, 3, 10, 0, 0, 123456789, time.FixedZone("CET", 3600))
			s.now = func() time.Time { return at }

			ada, err := s.Add(ctx, Contact{Name: " Ada Lovelace ", Email: "ada@example.com", Phone: "+44 20 7946 0000"})
			if err != nil {
				t.Fatal(err)
			}
			if ada.ID == 0 || ada.Name != "Ada Lovelace" || !ada.Created.Equal(at.Truncate(time.Microsecond)) {
				t.Errorf("Add returned %+v", ada)
			}

			// Every bad field is named at once.
			_, err = s.Add(ctx, Contact{Name: " ", Email: "ada@", Phone: "12"})
			var invalid *ValidationError
			if !errors.As(err, &invalid) || len(invalid.Fields) != 3 {
				t.Fatalf("invalid contact: %v, want a ValidationError on name, email and phone", err)
			}
			for field, want := range map[string]string{"name": "give a name", "email": "valid email", "phone": "7 to 15 digits"} {
				if !strings.Contains(invalid.Fields[field], want) {
					t.Errorf("%s: %q, want it to say %q", field, invalid.Fields[field], want)
				}
			}

			// The database's unique index refuses a second contact with the
			// same email, whatever its case.
			_, err = s.Add(ctx, Contact{Name: "Ada again", Email: "ADA@example.com", Phone: "555 0100 200"})
			if !errors.As(err, &invalid) || !strings.Contains(invalid.Fields["email"], "already saved") {
				t.Fatalf("duplicate email: %v, want a ValidationError on email", err)
			}

			grace, err := s.Add(ctx, Contact{Name: "Grace Hopper", Email: "grace@example.com", Phone: "(555) 010-0200"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0] != grace || got[1] != ada {
				t.Errorf("List = %+v, want Grace then Ada:\n%+v\n%+v", got, grace, ada)
			}
		})
	}
}

func TestValidPhone(t *testing.T) {
	for p, want := range map[string]bool{
		"+44 20 7946 0000": true, "(555) 010-0200": true, "5550100": true, "555.010.0200": true,
		"123456": false, "1234567890123456": false, "555-CALL-NOW": false, "44+ 2079460000": false, "": false,
		strings.Repeat(" ", 25) + "5550100": false,
	} {
		if got := validPhone(p); got != want {
			t.Errorf("validPhone(%q) = %v", p, got)
		}
	}
}
