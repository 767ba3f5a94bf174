// Package bad uses everything the runtime must provide. Each line with a
// finding says what is expected on it.
package bad

import (
	"context"
	crand "crypto/rand"   // want "import of crypto/rand"
	"math/rand"           // want "import of math/rand"
	randv2 "math/rand/v2" // want "import of math/rand/v2"
	"net/http"
	stdtime "time"
)

var _ = rand.Int
var _ = randv2.N[int]
var _ = crand.Reader

func clock() {
	_ = stdtime.Now()                      // want "time.Now"
	_ = stdtime.Since(stdtime.Time{})      // want "time.Since"
	_ = stdtime.Until(stdtime.Time{})      // want "time.Until"
	stdtime.Sleep(stdtime.Second)          // want "time.Sleep"
	<-stdtime.After(stdtime.Second)        // want "time.After"
	stdtime.AfterFunc(stdtime.Second, nil) // want "time.AfterFunc"
	_ = stdtime.NewTimer(stdtime.Second)   // want "time.NewTimer"
	_ = stdtime.NewTicker(stdtime.Second)  // want "time.NewTicker"
	_ = stdtime.Tick(stdtime.Second)       // want "time.Tick"
	now := stdtime.Now                     // want "time.Now"
	_ = now
}

func network() {
	_ = http.DefaultClient                // want "http.DefaultClient"
	_ = http.DefaultTransport             // want "http.DefaultTransport"
	_, _ = http.Get("http://x")           // want "http.Get"
	_, _ = http.Post("http://x", "", nil) // want "http.Post"
	_, _ = http.Head("http://x")          // want "http.Head"
	_, _ = http.PostForm("http://x", nil) // want "http.PostForm"
	_ = &http.Client{}                    // want "http.Client without a Transport"
	_ = http.Client{Timeout: 1}           // want "http.Client without a Transport"
	_ = http.Client{Transport: nil}       // want "http.Client without a Transport"
}

func deadlines(ctx context.Context) {
	_, _ = context.WithTimeout(ctx, 1)               // want "context.WithTimeout"
	_, _ = context.WithDeadline(ctx, stdtime.Time{}) // want "context.WithDeadline"
	_, _ = context.WithTimeoutCause(ctx, 1, nil)     // want "context.WithTimeoutCause"
}

func goroutines() {
	go func() {}() // want "go statement"
	go clock()     // want "go statement"
}
