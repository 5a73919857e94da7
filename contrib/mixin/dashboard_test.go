package mixin_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The dashboard is one Grafana can lay out: panels with unique ids on a
// 24-column grid, none overlapping another; every panel reads the chosen
// data source and queries, and every query selects the chosen cluster.
func TestDashboardWellFormed(t *testing.T) {
	data, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	type rect struct{ X, Y, W, H int }
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			GridPos    rect   `json:"gridPos"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
	}
	require.NoError(t, json.Unmarshal(data, &dash))
	require.NotEmpty(t, dash.UID)
	var vars []string
	for _, v := range dash.Templating.List {
		vars = append(vars, v.Name)
	}
	require.Equal(t, []string{"datasource", "cluster"}, vars)

	ids := map[int]bool{}
	var placed []rect
	for _, p := range dash.Panels {
		require.NotZero(t, p.ID, "panel %q", p.Title)
		require.False(t, ids[p.ID], "panel id %d twice", p.ID)
		ids[p.ID] = true
		g := p.GridPos
		require.True(t, g.X >= 0 && g.W > 0 && g.H > 0 && g.X+g.W <= 24, "panel %q at %+v", p.Title, g)
		for _, o := range placed {
			overlap := g.X < o.X+o.W && o.X < g.X+g.W && g.Y < o.Y+o.H && o.Y < g.Y+g.H
			require.False(t, overlap, "panel %q at %+v overlaps one at %+v", p.Title, g, o)
		}
		placed = append(placed, g)
		if p.Type == "row" {
			continue
		}
		require.Equal(t, "${datasource}", p.Datasource.UID, "panel %q", p.Title)
		require.NotEmpty(t, p.Targets, "panel %q", p.Title)
		refIDs := map[string]bool{}
		for _, tgt := range p.Targets {
			require.False(t, refIDs[tgt.RefID], "panel %q: refId %s twice", p.Title, tgt.RefID)
			refIDs[tgt.RefID] = true
			require.Contains(t, tgt.Expr, `job="$cluster"`, "panel %q", p.Title)
			require.Equal(t, strings.Count(tgt.Expr, "("), strings.Count(tgt.Expr, ")"), "panel %q: %s", p.Title, tgt.Expr)
		}
	}
}
