package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Document is a finance document kept beside the journal: a settlement batch
// with its lines and SAFE report, a reconciliation report. The ledger stores
// its JSON body as given and indexes it by kind, id, merchant and day; the
// body's shape belongs to whoever writes it.
type Document struct {
	// Kind says what the document is ("settlement", "reconciliation"); lower-case snake_case.
	Kind string `json:"kind"`
	// ID identifies the document within its kind.
	ID string `json:"id"`
	// MerchantID is the merchant it concerns ("" for none).
	MerchantID string `json:"merchant_id,omitempty"`
	// Day is the business day it concerns, as YYYY-MM-DD ("" for none).
	Day string `json:"day,omitempty"`
	// Status is the state of the work it describes.
	Status string `json:"status,omitempty"`
	// Body is the document, a JSON value.
	Body json.RawMessage `json:"body"`
	// CreatedAt is when it was first saved (set by SaveDocument).
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is when it was last saved (set by SaveDocument).
	UpdatedAt time.Time `json:"updated_at"`
}

// maxDocumentBytes bounds a document's body.
const maxDocumentBytes = 64 << 20

// SaveDocument creates the document or replaces the body, status, merchant and
// day of the one with the same kind and id, keeping its creation time. It
// returns the document as stored.
func (l *Ledger) SaveDocument(ctx context.Context, d Document) (Document, error) {
	if err := checkKind(d.Kind); err != nil {
		return Document{}, err
	}
	for _, f := range []struct{ name, v string }{{"id", d.ID}, {"merchant_id", d.MerchantID}, {"status", d.Status}} {
		if err := checkText(f.name, f.v, maxIDLen, f.name == "id"); err != nil {
			return Document{}, err
		}
	}
	if d.Day != "" {
		if _, err := time.Parse(time.DateOnly, d.Day); err != nil {
			return Document{}, fmt.Errorf("%w: day: must be YYYY-MM-DD, got %q", ErrInvalidPosting, d.Day)
		}
	}
	if len(d.Body) == 0 || len(d.Body) > maxDocumentBytes || !json.Valid(d.Body) {
		return Document{}, fmt.Errorf("%w: body: must be a JSON value of at most %d bytes", ErrInvalidPosting, maxDocumentBytes)
	}
	now := time.Now().UTC().Truncate(timePrecise)
	_, err := l.db.ExecContext(ctx, `INSERT INTO documents (kind, document_id, merchant_id, day, status, body, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		ON CONFLICT (kind, document_id) DO UPDATE SET merchant_id = excluded.merchant_id, day = excluded.day,
			status = excluded.status, body = excluded.body, updated_at = excluded.updated_at`,
		d.Kind, d.ID, d.MerchantID, d.Day, d.Status, string(d.Body), l.d.timeArg(now))
	if err != nil {
		return Document{}, fmt.Errorf("ledger: save document %s %s: %w", d.Kind, d.ID, err)
	}
	stored, ok, err := l.Document(ctx, d.Kind, d.ID)
	if err != nil {
		return Document{}, err
	}
	if !ok {
		return Document{}, fmt.Errorf("ledger: save document %s %s: saved but not found", d.Kind, d.ID)
	}
	return stored, nil
}

// Document returns the document of kind with id, and whether there is one.
func (l *Ledger) Document(ctx context.Context, kind, id string) (Document, bool, error) {
	if kind == "" || id == "" {
		return Document{}, false, fmt.Errorf("ledger: document: %w: kind and id: required", ErrInvalidPosting)
	}
	ds, err := l.documents(ctx, `WHERE kind = $1 AND document_id = $2`, kind, id)
	if err != nil || len(ds) == 0 {
		return Document{}, false, err
	}
	return ds[0], true, nil
}

// DocumentFilter selects documents of one kind; zero fields select everything.
type DocumentFilter struct {
	// Kind is the kind listed (required).
	Kind string
	// MerchantID selects one merchant's documents.
	MerchantID string
	// From selects days at or after it (YYYY-MM-DD).
	From string
	// To selects days before it (YYYY-MM-DD).
	To string
	// Limit caps the number returned (0: no cap).
	Limit int
}

// Documents returns the documents f selects, the latest day first, then by id.
func (l *Ledger) Documents(ctx context.Context, f DocumentFilter) ([]Document, error) {
	if f.Kind == "" {
		return nil, fmt.Errorf("ledger: documents: %w: kind: required", ErrInvalidPosting)
	}
	if f.Limit < 0 {
		return nil, errors.New("ledger: documents: limit: must not be negative")
	}
	var w where
	w.add("kind = ?", f.Kind)
	addIf(&w, "merchant_id = ?", f.MerchantID)
	addIf(&w, "day >= ?", f.From)
	addIf(&w, "day < ?", f.To)
	q := w.sql() + ` ORDER BY day DESC, document_id`
	if f.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(f.Limit)
	}
	return l.documents(ctx, q, w.args...)
}

func (l *Ledger) documents(ctx context.Context, rest string, args ...any) ([]Document, error) {
	var out []Document
	err := eachRow(ctx, l.db, func(rows *sql.Rows) error {
		var (
			d                  Document
			body, created, upd string
		)
		if err := rows.Scan(&d.Kind, &d.ID, &d.MerchantID, &d.Day, &d.Status, &body, &created, &upd); err != nil {
			return err
		}
		d.Body = json.RawMessage(body)
		var err error
		if d.CreatedAt, err = parseTime(created); err != nil {
			return err
		}
		if d.UpdatedAt, err = parseTime(upd); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	}, `SELECT kind, document_id, merchant_id, day, status, body, created_at, updated_at FROM documents `+rest, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: documents: %w", err)
	}
	return out, nil
}
