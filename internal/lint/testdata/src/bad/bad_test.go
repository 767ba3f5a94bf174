package bad

import "time"

// Test files are not checked.
var _ = time.Now()
