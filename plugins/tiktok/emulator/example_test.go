package emulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/bedrot-label/bedrot/plugins/tiktok/emulator"
)

// Example refreshes a token and lists the first page of videos.
func Example() {
	srv := emulator.New(emulator.Options{ClientKey: "ck", ClientSecret: "cs", RefreshToken: "rft.seed", VideoCount: 25, Seed: 1})
	base := srv.Start()
	defer srv.Close()

	resp, err := http.PostForm(base+"/v2/oauth/token/", url.Values{
		"client_key": {"ck"}, "client_secret": {"cs"}, "grant_type": {"refresh_token"}, "refresh_token": {"rft.seed"},
	})
	if err != nil {
		panic(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	_ = resp.Body.Close()

	req, _ := http.NewRequest(http.MethodPost, base+"/v2/video/list/?fields=id,create_time,view_count", strings.NewReader(`{"max_count":20}`))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var page struct {
		Data struct {
			Videos []struct {
				ID string `json:"id"`
			} `json:"videos"`
			Cursor  int64 `json:"cursor"`
			HasMore bool  `json:"has_more"`
		} `json:"data"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&page)
	_ = resp.Body.Close()
	fmt.Println(tok.ExpiresIn, page.Error.Code, len(page.Data.Videos), page.Data.HasMore, srv.Counts().VideoList)
	// Output: 7200 ok 20 true 1
}
