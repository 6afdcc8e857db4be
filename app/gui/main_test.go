package gui

import (
	"flag"
	"io"
	"log"
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	flag.Parse()
	time.Local = time.UTC // the goldens show dates
	if !testing.Verbose() {
		log.SetOutput(io.Discard) // gopcua's server chatter
	}
	os.Exit(m.Run())
}
