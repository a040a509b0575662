package app

import "github.com/hexproof/hexproof/chain/geo"

func h3Parent(c uint64, res int) (uint64, error) { return geo.Parent(c, res) }
