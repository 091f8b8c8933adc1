package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Contact is one saved contact.
type Contact struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Email   string    `json:"email"`
	Phone   string    `json:"phone"`
	Created time.Time `json:"created"`
}

// ValidationError is the store's refusal of a contact: a message per field
// ("name", "email", "phone"). It comes from the store's own checks or from a
// constraint of the database (one email per contact).
type ValidationError struct {
	Fields map[string]string
}

// Error lists the fields and their messages, sorted by field.
func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return "invalid contact: " + strings.Join(parts, "; ")
}

// Store keeps contacts in a SQL database: SQLite (the pure-Go
// modernc.org/sqlite, one file, nothing to install) or PostgreSQL (pgx).
// It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect dialect
	now     func() time.Time
}

// dialect is what differs between the two databases.
type dialect struct {
	name   string   // "sqlite" or "postgres"
	schema []string // statements creating the table, run at every open
	insert string   // name, email, phone, created → id
	unique func(error) bool
}

var sqliteDialect = dialect{
	name: "sqlite",
	schema: []string{
		`CREATE TABLE IF NOT EXISTS contacts (
			id      INTEGER PRIMARY KEY AUTOINCREMENT,
			name    TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
			email   TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
			phone   TEXT NOT NULL CHECK (length(phone) BETWEEN 1 AND 30),
			created TIMESTAMP NOT NULL)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS contacts_email ON contacts (lower(email))`,
	},
	insert: `INSERT INTO contacts (name, email, phone, created) VALUES (?, ?, ?, ?) RETURNING id`,
	unique: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	},
}

var postgresDialect = dialect{
	name: "postgres",
	schema: []string{
		`CREATE TABLE IF NOT EXISTS contacts (
			id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			name    TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
			email   TEXT NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
			phone   TEXT NOT NULL CHECK (char_length(phone) BETWEEN 1 AND 30),
			created TIMESTAMPTZ NOT NULL)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS contacts_email ON contacts (lower(email))`,
	},
	insert: `INSERT INTO contacts (name, email, phone, created) VALUES ($1, $2, $3, $4) RETURNING id`,
	unique: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505" // unique_violation
	},
}

// OpenStore opens the PostgreSQL database at databaseURL (a postgres:// URL
// or a key=value DSN), or, when it is empty, the SQLite file sqlitePath
// (created if missing), and creates the contacts table if needed.
func OpenStore(ctx context.Context, databaseURL, sqlitePath string) (*Store, error) {
	var (
		db  *sql.DB
		d   dialect
		err error
	)
	if databaseURL != "" {
		d = postgresDialect
		db, err = sql.Open("pgx", databaseURL)
	} else {
		d = sqliteDialect
		db, err = sql.Open("sqlite", "file:"+sqlitePath+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)")
	}
	if err != nil {
		return nil, err
	}
	if d.name == "sqlite" {
		// One writer at a time is what SQLite does anyway; one connection
		// keeps database/sql from meeting SQLITE_BUSY.
		db.SetMaxOpenConns(1)
	}
	for _, stmt := range d.schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: creating the schema: %w", d.name, err)
		}
	}
	return &Store{db: db, dialect: d, now: time.Now}, nil
}

// Dialect is "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect.name }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// Add checks c (trimmed), saves it and returns it with its ID and time. An
// invalid contact, or one whose email is already saved, gets a
// *ValidationError.
func (s *Store) Add(ctx context.Context, c Contact) (Contact, error) {
	c, err := validate(c)
	if err != nil {
		return Contact{}, err
	}
	c.Created = s.now().UTC().Truncate(time.Microsecond) // what PostgreSQL keeps
	err = s.db.QueryRowContext(ctx, s.dialect.insert, c.Name, c.Email, c.Phone, c.Created).Scan(&c.ID)
	if s.dialect.unique(err) {
		return Contact{}, &ValidationError{Fields: map[string]string{"email": "a contact with this email is already saved"}}
	}
	if err != nil {
		return Contact{}, fmt.Errorf("%s: saving a contact: %w", s.dialect.name, err)
	}
	return c, nil
}

// maxList bounds List.
const maxList = 1000

// List returns the latest contacts, newest first (at most 1000).
func (s *Store) List(ctx context.Context) ([]Contact, error) {
	rows, err := s.db.QueryContext(ctx, fmt.Sprintf(`SELECT id, name, email, phone, created FROM contacts ORDER BY id DESC LIMIT %d`, maxList))
	if err != nil {
		return nil, fmt.Errorf("%s: listing contacts: %w", s.dialect.name, err)
	}
	defer rows.Close()
	out := []Contact{}
	for rows.Next() {
		var c Contact
		if err := rows.Scan(&c.ID, &c.Name, &c.Email, &c.Phone, &c.Created); err != nil {
			return nil, err
		}
		c.Created = c.Created.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// validate trims c and checks every field, returning all problems at once.
func validate(c Contact) (Contact, error) {
	c = Contact{Name: strings.TrimSpace(c.Name), Email: strings.TrimSpace(c.Email), Phone: strings.TrimSpace(c.Phone)}
	bad := map[string]string{}
	if n := utf8.RuneCountInString(c.Name); n == 0 || n > 100 {
		bad["name"] = "please give a name (at most 100 characters)"
	}
	if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email || len(c.Email) > 254 {
		bad["email"] = "please give a valid email address, like ada@example.com"
	}
	if !validPhone(c.Phone) {
		bad["phone"] = "please give a phone number: 7 to 15 digits, with + ( ) - . or spaces if you like"
	}
	if len(bad) > 0 {
		return Contact{}, &ValidationError{Fields: bad}
	}
	return c, nil
}

// validPhone accepts 7–15 digits (E.164 allows 15) with an optional leading
// + and the usual separators, at most 30 characters in all.
func validPhone(p string) bool {
	if len(p) > 30 {
		return false
	}
	digits := 0
	for i, r := range p {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case strings.ContainsRune(" ()-.", r):
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}
