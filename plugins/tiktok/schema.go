package tiktok

import "github.com/bedrot-label/bedrot/sdk"

// Stream names.
const (
	// StreamUserInfo holds one row per snapshot: the authorised account's
	// profile and lifetime counters (GET /v2/user/info/).
	StreamUserInfo = "user_info"
	// StreamVideos holds one row per public video per snapshot, with its
	// lifetime counters (POST /v2/video/list/).
	StreamVideos = "videos"
	// StreamBusinessMetrics holds one row per day of Accounts API daily
	// metrics (GET /open_api/v1.3/business/get/); only when business_id is
	// configured.
	StreamBusinessMetrics = "business_metrics"
)

// Column positions of the user_info stream, in schema order.
const (
	UserColOpenID = iota
	UserColUnionID
	UserColDisplayName
	UserColUsername
	UserColAvatarURL
	UserColAvatarURL100
	UserColAvatarLargeURL
	UserColBioDescription
	UserColProfileDeepLink
	UserColIsVerified
	UserColFollowerCount
	UserColFollowingCount
	UserColLikesCount
	UserColVideoCount
	UserColSnapshotAt
	UserColSnapshotDate
)

// Column positions of the videos stream, in schema order.
const (
	VideoColID = iota
	VideoColOpenID
	VideoColCreateTime
	VideoColTitle
	VideoColDescription
	VideoColDuration
	VideoColHeight
	VideoColWidth
	VideoColIsAIGC
	VideoColShareURL
	VideoColEmbedLink
	VideoColEmbedHTML
	VideoColCoverImageURL
	VideoColViewCount
	VideoColLikeCount
	VideoColCommentCount
	VideoColShareCount
	VideoColSnapshotAt
	VideoColSnapshotDate
)

// Column positions of the business_metrics stream, in schema order. The
// daily metric columns run from BizColVideoViews to BizColFollowersCount in
// the order of businessMetricNames.
const (
	BizColBusinessID = iota
	BizColDate
	BizColVideoViews
	BizColUniqueVideoViews
	BizColProfileViews
	BizColLikes
	BizColComments
	BizColShares
	BizColPhoneNumberClicks
	BizColLeadSubmissions
	BizColAppDownloadClicks
	BizColBioLinkClicks
	BizColEmailClicks
	BizColAddressClicks
	BizColDailyTotalFollowers
	BizColDailyNewFollowers
	BizColDailyLostFollowers
	BizColFollowersCount
	BizColAudienceActivity
	BizColSnapshotAt
	BizColSnapshotDate
)

const (
	snapshotAtDoc   = "When the snapshot began (UTC); the same instant for every row of a snapshot, also when a later run finished it."
	snapshotDateDoc = "UTC date of snapshot_at: the day the snapshot stands for."
	absentDoc       = " Null when TikTok did not send it (field not covered by a granted scope), never 0 or empty for absent."
	lifetimeDoc     = " Lifetime total at snapshot time; it can decrease between snapshots (removed likes, purged views)."
)

// UserInfoSchema is the schema of the user_info stream.
var UserInfoSchema = sdk.Schema{Fields: []sdk.Field{
	UserColOpenID:          {Name: "open_id", Type: sdk.TypeString, Doc: "The account's id for this TikTok app (open_id)."},
	UserColUnionID:         {Name: "union_id", Type: sdk.TypeString, Nullable: true, Doc: "The account's id across the developer's apps (union_id)." + absentDoc},
	UserColDisplayName:     {Name: "display_name", Type: sdk.TypeString, Nullable: true, Doc: "Profile name as shown (may hold emoji)." + absentDoc},
	UserColUsername:        {Name: "username", Type: sdk.TypeString, Nullable: true, Doc: "The @handle without the @ (scope user.info.profile)." + absentDoc},
	UserColAvatarURL:       {Name: "avatar_url", Type: sdk.TypeString, Nullable: true, Doc: "Avatar image URL; a signed CDN link that expires." + absentDoc},
	UserColAvatarURL100:    {Name: "avatar_url_100", Type: sdk.TypeString, Nullable: true, Doc: "100×100 avatar image URL; a signed CDN link that expires." + absentDoc},
	UserColAvatarLargeURL:  {Name: "avatar_large_url", Type: sdk.TypeString, Nullable: true, Doc: "Large avatar image URL; a signed CDN link that expires." + absentDoc},
	UserColBioDescription:  {Name: "bio_description", Type: sdk.TypeString, Nullable: true, Doc: "Profile bio (scope user.info.profile)." + absentDoc},
	UserColProfileDeepLink: {Name: "profile_deep_link", Type: sdk.TypeString, Nullable: true, Doc: "Link that opens the profile in the TikTok app (scope user.info.profile)." + absentDoc},
	UserColIsVerified:      {Name: "is_verified", Type: sdk.TypeBool, Nullable: true, Doc: "Whether TikTok verified the account (scope user.info.profile)." + absentDoc},
	UserColFollowerCount:   {Name: "follower_count", Type: sdk.TypeInt64, Nullable: true, Doc: "Followers (scope user.info.stats)." + lifetimeDoc + absentDoc},
	UserColFollowingCount:  {Name: "following_count", Type: sdk.TypeInt64, Nullable: true, Doc: "Accounts followed (scope user.info.stats)." + absentDoc},
	UserColLikesCount:      {Name: "likes_count", Type: sdk.TypeInt64, Nullable: true, Doc: "Likes over all videos (scope user.info.stats)." + lifetimeDoc + absentDoc},
	UserColVideoCount:      {Name: "video_count", Type: sdk.TypeInt64, Nullable: true, Doc: "Public videos (scope user.info.stats)." + absentDoc},
	UserColSnapshotAt:      {Name: "snapshot_at", Type: sdk.TypeTimestamp, Doc: snapshotAtDoc},
	UserColSnapshotDate:    {Name: "snapshot_date", Type: sdk.TypeDate, Doc: snapshotDateDoc},
}}

// VideosSchema is the schema of the videos stream.
var VideosSchema = sdk.Schema{Fields: []sdk.Field{
	VideoColID:            {Name: "video_id", Type: sdk.TypeString, Doc: "The video's id (item_id): a 19-digit decimal kept as text, since it does not survive a float."},
	VideoColOpenID:        {Name: "open_id", Type: sdk.TypeString, Nullable: true, Doc: "open_id of the account that posted it (joins user_info); null if TikTok did not send one with the token."},
	VideoColCreateTime:    {Name: "create_time", Type: sdk.TypeTimestamp, Doc: "When the video was posted (UTC; TikTok sends Unix seconds)."},
	VideoColTitle:         {Name: "title", Type: sdk.TypeString, Nullable: true, Doc: "Title, up to 150 characters, often empty." + absentDoc},
	VideoColDescription:   {Name: "video_description", Type: sdk.TypeString, Nullable: true, Doc: "Caption with hashtags, up to 150 characters." + absentDoc},
	VideoColDuration:      {Name: "duration_s", Type: sdk.TypeInt64, Nullable: true, Doc: "Length in seconds." + absentDoc},
	VideoColHeight:        {Name: "height", Type: sdk.TypeInt64, Nullable: true, Doc: "Height in pixels." + absentDoc},
	VideoColWidth:         {Name: "width", Type: sdk.TypeInt64, Nullable: true, Doc: "Width in pixels." + absentDoc},
	VideoColIsAIGC:        {Name: "is_aigc", Type: sdk.TypeBool, Nullable: true, Doc: "Whether the video is labelled AI-generated." + absentDoc},
	VideoColShareURL:      {Name: "share_url", Type: sdk.TypeString, Nullable: true, Doc: "Public link to the video (with TikTok's utm parameters)." + absentDoc},
	VideoColEmbedLink:     {Name: "embed_link", Type: sdk.TypeString, Nullable: true, Doc: "Player link for embedding." + absentDoc},
	VideoColEmbedHTML:     {Name: "embed_html", Type: sdk.TypeString, Nullable: true, Doc: "HTML snippet that embeds the video." + absentDoc},
	VideoColCoverImageURL: {Name: "cover_image_url", Type: sdk.TypeString, Nullable: true, Doc: "Cover image; a signed CDN link that expires after about 6 hours, never a key." + absentDoc},
	VideoColViewCount:     {Name: "view_count", Type: sdk.TypeInt64, Nullable: true, Doc: "Views." + lifetimeDoc + absentDoc},
	VideoColLikeCount:     {Name: "like_count", Type: sdk.TypeInt64, Nullable: true, Doc: "Likes." + lifetimeDoc + absentDoc},
	VideoColCommentCount:  {Name: "comment_count", Type: sdk.TypeInt64, Nullable: true, Doc: "Comments." + lifetimeDoc + absentDoc},
	VideoColShareCount:    {Name: "share_count", Type: sdk.TypeInt64, Nullable: true, Doc: "Shares." + lifetimeDoc + absentDoc},
	VideoColSnapshotAt:    {Name: "snapshot_at", Type: sdk.TypeTimestamp, Doc: snapshotAtDoc},
	VideoColSnapshotDate:  {Name: "snapshot_date", Type: sdk.TypeDate, Doc: snapshotDateDoc},
}}

// businessMetricNames are the daily metrics of the business_metrics stream,
// in column order from BizColVideoViews: the names TikTok uses in the
// metrics entries of /business/get/.
var businessMetricNames = []string{
	"video_views", "unique_video_views", "profile_views", "likes", "comments", "shares",
	"phone_number_clicks", "lead_submissions", "app_download_clicks", "bio_link_clicks",
	"email_clicks", "address_clicks", "daily_total_followers", "daily_new_followers",
	"daily_lost_followers", "followers_count",
}

// businessMetricDocs describe the daily metric columns.
var businessMetricDocs = map[string]string{
	"video_views":           "Video views that day.",
	"unique_video_views":    "Distinct viewers of the account's videos that day.",
	"profile_views":         "Profile views that day.",
	"likes":                 "Likes received that day.",
	"comments":              "Comments received that day.",
	"shares":                "Shares that day.",
	"phone_number_clicks":   "Taps on the profile's phone number (business accounts only).",
	"lead_submissions":      "Lead forms submitted (business accounts only).",
	"app_download_clicks":   "Taps on the app download link (business accounts only).",
	"bio_link_clicks":       "Taps on the link in the bio.",
	"email_clicks":          "Taps on the profile's e-mail address (business accounts only).",
	"address_clicks":        "Taps on the profile's address (business accounts only).",
	"daily_total_followers": "Followers at the end of the day.",
	"daily_new_followers":   "Followers gained that day.",
	"daily_lost_followers":  "Followers lost that day.",
	"followers_count":       "Follower count TikTok reports for the day.",
}

// BusinessMetricsSchema is the schema of the business_metrics stream.
var BusinessMetricsSchema = func() sdk.Schema {
	fields := []sdk.Field{
		BizColBusinessID: {Name: "business_id", Type: sdk.TypeString, Doc: "The business account (business_id, its open_id) the metrics are for."},
		BizColDate:       {Name: "date", Type: sdk.TypeDate, Doc: "The UTC day the metrics count."},
	}
	for _, m := range businessMetricNames {
		fields = append(fields, sdk.Field{Name: m, Type: sdk.TypeInt64, Nullable: true,
			Doc: businessMetricDocs[m] + " Null when TikTok sends none (personal accounts, accounts under 100 followers, scope not granted)."})
	}
	fields = append(fields,
		sdk.Field{Name: "audience_activity", Type: sdk.TypeString, Nullable: true, Doc: "Followers active per hour of the day, as the JSON TikTok sends ([{\"hour\",\"count\"}]); null when absent."},
		sdk.Field{Name: "snapshot_at", Type: sdk.TypeTimestamp, Doc: "When the run read the metrics (UTC)."},
		sdk.Field{Name: "snapshot_date", Type: sdk.TypeDate, Doc: "UTC date of snapshot_at."},
	)
	return sdk.Schema{Fields: fields}
}()

// Streams returns the streams in the order Read emits them;
// business_metrics only when withBusiness.
func Streams(withBusiness bool) []sdk.Stream {
	s := []sdk.Stream{
		{Name: StreamUserInfo, Doc: "Daily snapshot of the authorised TikTok account: profile and lifetime counters (Display API GET /v2/user/info/).",
			Schema: UserInfoSchema, PrimaryKey: []string{"open_id", "snapshot_at"}},
		{Name: StreamVideos, Doc: "Daily snapshot of every public video of the account with its lifetime counters (Display API POST /v2/video/list/), each video once per snapshot.",
			Schema: VideosSchema, PrimaryKey: []string{"video_id", "snapshot_at"}},
	}
	if withBusiness {
		s = append(s, sdk.Stream{Name: StreamBusinessMetrics,
			Doc:    "Daily account metrics from the TikTok Accounts API (GET /open_api/v1.3/business/get/), each settled day once: a day is read once 48 hours have passed since it ended, and never again.",
			Schema: BusinessMetricsSchema, PrimaryKey: []string{"business_id", "date"}, CursorField: "date"})
	}
	return s
}
