package scenarios

import (
	"errors"
	"math"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

func (p *parser) scalar(n *yaml.Node, f, want string) error {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return p.errorf(n, f, "%s is not %s", describe(n), want)
	}
	return nil
}

func (p *parser) str(n *yaml.Node, f string, dst *string) error {
	if err := p.scalar(n, f, "a string"); err != nil {
		return err
	}
	*dst = n.Value
	return nil
}

func (p *parser) int64(n *yaml.Node, f string, dst *int64) error {
	if err := p.scalar(n, f, "an integer"); err != nil {
		return err
	}
	if n.Tag != "!!int" {
		if _, err := strconv.ParseInt(n.Value, 10, 64); errors.Is(err, strconv.ErrRange) {
			return p.errorf(n, f, "%s is out of range (%d to %d)", n.Value, int64(math.MinInt64), int64(math.MaxInt64))
		}
		return p.errorf(n, f, "%q is not an integer", n.Value)
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		return p.errorf(n, f, "%s is out of range (%d to %d)", n.Value, int64(math.MinInt64), int64(math.MaxInt64))
	}
	*dst = v
	return nil
}

func (p *parser) int(n *yaml.Node, f string, dst *int) error {
	var v int64
	if err := p.int64(n, f, &v); err != nil {
		return err
	}
	if int64(int(v)) != v {
		return p.errorf(n, f, "%d is out of range", v)
	}
	*dst = int(v)
	return nil
}

// rate reads a probability: a number between 0 and 1 (.nan and .inf,
// which YAML reads as numbers, are not).
func (p *parser) rate(n *yaml.Node, f string, dst *float64) error {
	const want = "a number between 0 and 1"
	if err := p.scalar(n, f, want); err != nil {
		return err
	}
	var v float64
	if n.Tag != "!!int" && n.Tag != "!!float" || n.Decode(&v) != nil || !(v >= 0 && v <= 1) {
		return p.errorf(n, f, "%q is not %s", n.Value, want)
	}
	*dst = v
	return nil
}

func (p *parser) bool(n *yaml.Node, f string, dst *bool) error {
	if err := p.scalar(n, f, "true or false"); err != nil {
		return err
	}
	if n.Tag != "!!bool" {
		return p.errorf(n, f, "%q is not true or false", n.Value)
	}
	return n.Decode(dst)
}

func (p *parser) duration(n *yaml.Node, f string, dst *time.Duration) error {
	if err := p.scalar(n, f, "a duration"); err != nil {
		return err
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		return p.errorf(n, f, "%q is not a duration such as 250ms or 5s", n.Value)
	}
	*dst = d
	return nil
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// describe names what a node is, for errors.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return "empty"
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(n.Value)
	default:
		return "nothing"
	}
}
