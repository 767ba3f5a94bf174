package bad

import . "time" // want "dot import of time"

var _ = Second
