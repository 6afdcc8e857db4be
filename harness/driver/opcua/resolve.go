package opcua

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"

	"github.com/patchgate/patchgate/harness/point"
)

// node is where one point of the map lives on this server, or why that is not known.
type node struct {
	id  *ua.NodeID // nil when unresolved
	str string     // id.String(), for errors and Identity
	err error      // why it is unresolved
}

// errUnresolved is wrapped by the reading of a point whose node could not be resolved.
var errUnresolved = errors.New("node not resolved")

// resolve finds the node of every point of the map that has an opcua section: ids and
// namespace_uri+identifier through the server's namespace array, browse paths through one
// TranslateBrowsePathsToNodeIDs request per per paths. A point that cannot be resolved gets
// the reason; only a failed request is an error.
func (c *Conn) resolve(ctx context.Context, l *link, namespaces []string, per int) ([]node, error) {
	nodes := make([]node, len(c.pm.Points))
	nsIndex := func(uri string) (uint16, error) {
		for i, u := range namespaces {
			if u == uri {
				return uint16(i), nil
			}
		}
		return 0, fmt.Errorf("namespace %s is not on the server (it has %s)", uri, strings.Join(namespaces, ", "))
	}
	var (
		paths []*ua.BrowsePath
		at    []int // point index of each path
	)
	for i, p := range c.pm.Points {
		n := p.OPCUA
		if n == nil {
			nodes[i].err = fmt.Errorf("point %s has no opcua address in point map %q", p.Tag, c.pm.Name)
			continue
		}
		var (
			nid *ua.NodeID
			err error
		)
		switch {
		case n.ID != "":
			if rest, ok := strings.CutPrefix(n.ID, "nsu="); ok {
				uri, ident, _ := strings.Cut(rest, ";")
				nid, err = inNamespace(uri, ident, nsIndex)
			} else {
				nid, err = ua.ParseNodeID(n.ID)
			}
			if err != nil {
				err = fmt.Errorf("id %s: %w", n.ID, err)
			}
		case n.Identifier != "":
			if nid, err = inNamespace(n.NamespaceURI, n.Identifier, nsIndex); err != nil {
				err = fmt.Errorf("identifier %s: %w", n.Identifier, err)
			}
		default:
			var rp *ua.RelativePath
			if rp, err = relativePath(n.BrowsePath, n.NamespaceURI, nsIndex); err != nil {
				err = fmt.Errorf("browse_path %s: %w", n.BrowsePath, err)
				break
			}
			paths = append(paths, &ua.BrowsePath{StartingNode: ua.NewNumericNodeID(0, id.ObjectsFolder), RelativePath: rp})
			at = append(at, i)
			continue
		}
		if err != nil {
			nodes[i].err = err
			continue
		}
		nodes[i] = node{id: nid, str: nid.String()}
	}
	// in requests of at most per paths: servers limit the operations of a request, and
	// their MaxNodesPerRead is a fair guess at their other limits
	for lo := 0; lo < len(paths); lo += per {
		hi := min(lo+per, len(paths))
		if err := c.translate(ctx, l, paths[lo:hi], at[lo:hi], nodes); err != nil {
			return nil, err
		}
	}
	return nodes, nil
}

// translate resolves browse paths of the points at (indices into nodes) with one request.
func (c *Conn) translate(ctx context.Context, l *link, paths []*ua.BrowsePath, at []int, nodes []node) error {
	req := &ua.TranslateBrowsePathsToNodeIDsRequest{BrowsePaths: paths}
	var res *ua.TranslateBrowsePathsToNodeIDsResponse
	err := c.send(ctx, l, req, func(r ua.Response) error {
		var ok bool
		if res, ok = r.(*ua.TranslateBrowsePathsToNodeIDsResponse); !ok {
			return fmt.Errorf("answer %T to TranslateBrowsePathsToNodeIDs", r)
		}
		return nil
	})
	if err != nil {
		if !refused(err) {
			return fmt.Errorf("translate browse paths: %w", err)
		}
		for _, i := range at {
			nodes[i].err = fmt.Errorf("browse_path %s: the server refused TranslateBrowsePathsToNodeIDs: %w", c.pm.Points[i].OPCUA.BrowsePath, err)
		}
		return nil
	}
	for k, i := range at {
		bp := c.pm.Points[i].OPCUA.BrowsePath
		switch {
		case k >= len(res.Results) || res.Results[k] == nil:
			nodes[i].err = fmt.Errorf("browse_path %s: no result from the server", bp)
		case !Status(res.Results[k].StatusCode).Good():
			nodes[i].err = fmt.Errorf("browse_path %s from Objects: %w", bp, Status(res.Results[k].StatusCode))
		case len(res.Results[k].Targets) == 0 || res.Results[k].Targets[0].TargetID == nil:
			nodes[i].err = fmt.Errorf("browse_path %s from Objects: no target", bp)
		case res.Results[k].Targets[0].TargetID.HasServerIndex() || res.Results[k].Targets[0].TargetID.HasNamespaceURI():
			nodes[i].err = fmt.Errorf("browse_path %s from Objects leads to another server (%s)", bp, res.Results[k].Targets[0].TargetID)
		default:
			nid := res.Results[k].Targets[0].TargetID.NodeID
			nodes[i] = node{id: nid, str: nid.String()}
		}
	}
	return nil
}

// inNamespace parses an identifier ("s=Tank.Level") in the namespace named by uri.
func inNamespace(uri, ident string, nsIndex func(string) (uint16, error)) (*ua.NodeID, error) {
	ns, err := nsIndex(uri)
	if err != nil {
		return nil, err
	}
	return ua.ParseNodeID("ns=" + strconv.Itoa(int(ns)) + ";" + ident)
}

// relativePath parses a browse path from the Objects folder: elements separated by "/",
// each "Name" (in namespace uri, or 0 without one) or "N:Name" (in namespace N), following
// hierarchical references.
func relativePath(path, uri string, nsIndex func(string) (uint16, error)) (*ua.RelativePath, error) {
	path = strings.TrimPrefix(path, "/")
	if path == "" {
		return nil, errors.New("empty; expected names from the Objects folder, such as Tank/Level")
	}
	var def uint16
	defErr := error(nil)
	if uri != "" {
		def, defErr = nsIndex(uri)
	}
	rp := &ua.RelativePath{}
	for _, el := range strings.Split(path, "/") {
		ns, name := def, el
		explicit := false
		if pfx, rest, ok := strings.Cut(el, ":"); ok {
			if n, err := strconv.ParseUint(pfx, 10, 16); err == nil {
				ns, name, explicit = uint16(n), rest, true
			}
		}
		if name == "" {
			return nil, fmt.Errorf("empty element in %q", path)
		}
		if !explicit && defErr != nil {
			return nil, defErr
		}
		rp.Elements = append(rp.Elements, &ua.RelativePathElement{
			ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences),
			IncludeSubtypes: true,
			TargetName:      &ua.QualifiedName{NamespaceIndex: ns, Name: name},
		})
	}
	return rp, nil
}

// nodeOf returns the node of a point, or an error saying why it has none.
func (c *Conn) nodeOf(p point.Point, i int) (*node, error) {
	n := &c.nodes[i]
	if n.id == nil {
		return n, fmt.Errorf("%s (%s): %w: %w", p.Tag, p.OPCUA, errUnresolved, n.err)
	}
	return n, nil
}
