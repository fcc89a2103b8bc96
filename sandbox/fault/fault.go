// Package fault injects failures into the sandboxes: added latency, HTTP 5xx,
// timeouts and business errors per endpoint, and dropped, duplicated, delayed
// or reordered notifications. Rules are set in code, from a JSON config, or
// over HTTP through Handler, so chaos tests and the demo can use them.
package fault

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Rule is the fault applied to calls of one endpoint (an API method name such
// as "alipay.trade.query" or "POST /v3/refund/domestic/refunds").
type Rule struct {
	// Latency is added before the endpoint answers.
	Latency time.Duration `json:"latency,omitempty"`
	// Status, when non-zero, answers with this HTTP status (e.g. 500, 503) instead of handling the call.
	Status int `json:"status,omitempty"`
	// Timeout holds the request until the client gives up (or Latency+30s), answering nothing useful.
	Timeout bool `json:"timeout,omitempty"`
	// BusinessError, when set, answers with this provider error code (e.g. "SYSTEM_ERROR", "ACQ.SYSTEM_ERROR").
	BusinessError string `json:"businessError,omitempty"`
	// Times limits how many calls the rule affects; 0 means every call until cleared.
	Times int `json:"times,omitempty"`
}

// NotifyRule is the fault applied to outgoing notifications.
type NotifyRule struct {
	// Drop loses notifications.
	Drop bool `json:"drop,omitempty"`
	// Duplicate sends each notification twice.
	Duplicate bool `json:"duplicate,omitempty"`
	// Delay holds each notification this long before sending it.
	Delay time.Duration `json:"delay,omitempty"`
	// Reorder holds each notification until the next one is sent, then sends them newest first.
	Reorder bool `json:"reorder,omitempty"`
	// Times limits how many notifications the rule affects; 0 means all until cleared.
	Times int `json:"times,omitempty"`
}

// Config is the JSON form of an injector's rules.
type Config struct {
	// Endpoints maps an endpoint name to its rule.
	Endpoints map[string]Rule `json:"endpoints,omitempty"`
	// Notify is the rule for notifications.
	Notify *NotifyRule `json:"notify,omitempty"`
}

// Injector holds the active fault rules of one sandbox. The zero value is not
// usable; a nil *Injector injects nothing.
type Injector struct {
	mu        sync.Mutex
	endpoints map[string]*Rule
	notify    *NotifyRule
	held      []func()
}

// New returns an injector with no rules.
func New() *Injector { return &Injector{endpoints: map[string]*Rule{}} }

// Set installs the rule for an endpoint, replacing any earlier one.
func (in *Injector) Set(endpoint string, r Rule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.endpoints[endpoint] = &r
}

// SetNotify installs the notification rule.
func (in *Injector) SetNotify(r NotifyRule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.notify = &r
}

// Apply installs every rule of c.
func (in *Injector) Apply(c Config) {
	for name, r := range c.Endpoints {
		in.Set(name, r)
	}
	if c.Notify != nil {
		in.SetNotify(*c.Notify)
	}
}

// Clear removes every rule and sends any held notification.
func (in *Injector) Clear() {
	in.mu.Lock()
	in.endpoints = map[string]*Rule{}
	in.notify = nil
	held := in.held
	in.held = nil
	in.mu.Unlock()
	for _, send := range held {
		go send()
	}
}

// Take returns the rule to apply to one call of endpoint, counting it against
// the rule's Times; ok is false when no fault applies.
func (in *Injector) Take(endpoint string) (r Rule, ok bool) {
	if in == nil {
		return Rule{}, false
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	p, found := in.endpoints[endpoint]
	if !found {
		return Rule{}, false
	}
	r = *p
	if p.Times > 0 {
		p.Times--
		if p.Times == 0 {
			delete(in.endpoints, endpoint)
		}
	}
	return r, true
}

// Intercept applies the transport part of the endpoint's rule (latency,
// timeout, HTTP status) to a request. It returns the rule and handled=true when
// it already answered the request, so the caller must not; a rule with only a
// BusinessError is returned with handled=false for the caller to answer in its
// own protocol.
func (in *Injector) Intercept(endpoint string, w http.ResponseWriter, r *http.Request) (rule Rule, handled bool) {
	rule, ok := in.Take(endpoint)
	if !ok {
		return Rule{}, false
	}
	if rule.Latency > 0 {
		select {
		case <-time.After(rule.Latency):
		case <-r.Context().Done():
			return rule, true
		}
	}
	if rule.Timeout {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		http.Error(w, "gateway timeout", http.StatusGatewayTimeout)
		return rule, true
	}
	if rule.Status != 0 {
		http.Error(w, http.StatusText(rule.Status), rule.Status)
		return rule, true
	}
	return rule, false
}

// Deliver sends a notification through send under the notification rule:
// dropped, duplicated, delayed or held for reordering. send runs on its own
// goroutine and should retry on its own as the provider would.
func (in *Injector) Deliver(send func()) {
	if in == nil {
		go send()
		return
	}
	in.mu.Lock()
	r := in.notify
	var rule NotifyRule
	if r != nil {
		rule = *r
		if r.Times > 0 {
			r.Times--
			if r.Times == 0 {
				in.notify = nil
			}
		}
	}
	if rule.Reorder {
		if len(in.held) == 0 {
			in.held = append(in.held, send)
			in.mu.Unlock()
			return
		}
		held := in.held
		in.held = nil
		in.mu.Unlock()
		go func() {
			send()
			for i := len(held) - 1; i >= 0; i-- {
				held[i]()
			}
		}()
		return
	}
	// A notification still held when the reorder rule ran out follows this one.
	held := in.held
	in.held = nil
	in.mu.Unlock()
	sendHeld := func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i]()
		}
	}
	if rule.Drop {
		if len(held) > 0 {
			go sendHeld()
		}
		return
	}
	go func() {
		if rule.Delay > 0 {
			time.Sleep(rule.Delay)
		}
		send()
		if rule.Duplicate {
			send()
		}
		sendHeld()
	}()
}

// Handler serves the injector's control API:
// PUT sets rules from a Config body, DELETE clears them, GET returns them.
func (in *Injector) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPut, http.MethodPost:
			var c Config
			dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c); err != nil {
				http.Error(w, fmt.Sprintf("bad fault config: %v", err), http.StatusBadRequest)
				return
			}
			in.Apply(c)
			w.WriteHeader(http.StatusNoContent)
		case http.MethodDelete:
			in.Clear()
			w.WriteHeader(http.StatusNoContent)
		case http.MethodGet:
			in.mu.Lock()
			c := Config{Endpoints: map[string]Rule{}}
			for k, v := range in.endpoints {
				c.Endpoints[k] = *v
			}
			if in.notify != nil {
				n := *in.notify
				c.Notify = &n
			}
			in.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(c)
		default:
			w.Header().Set("Allow", "GET, PUT, POST, DELETE")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}
