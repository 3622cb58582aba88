"""What generated records are drawn from: words for titles, people's names, places, user agents
and the pages eventsim's users visit, with their weights (:mod:`~sparkify_dagster.ingest.generate`).
"""

WORDS = (
    "love night heart fire rain dream blue summer city light river gold wild road home ghost "
    "dance shadow moon star sun stone sky echo silver paper glass ocean thunder velvet angel "
    "midnight morning garden winter electric broken secret golden crystal neon sweet lonely "
    "desert mirror honey falling burning hollow northern southern little young old last first"
).split()
TITLE_SUFFIXES = ("", "", "", "", " (LP Version)", " (Album Version)", " (Live)", " (Remix)")
FIRST_NAMES = {
    "F": (
        "Kaylee Lily Jacqueline Tegan Chloe Ava Sara Layla Jayden Aleena Lily Katherine Rylan "
        "Anabelle Amiya Mohammad Cecilia Emily Jordyn Stefany Brooklyn Kinsley"
    ).split(),
    "M": (
        "Walter Ryan Jacob Aiden Kevin Wyatt Jordan Matthew Connar Cienna Theodore Harper "
        "Ethan Samuel Lucas Elijah Noah Liam Kaleb Jizelle Tucker Avery"
    ).split(),
}
LAST_NAMES = (
    "Frye Summers Smith Lynch Koch Levine Cruz Harrell Williams Jones Garcia Perez Ramos Hill "
    "Moreno Arellano Marshall Robinson Cuevas Clarke Daniels Griffin Morrison Ellis Tran"
).split()
USER_LOCATIONS = (
    "San Francisco-Oakland-Hayward, CA",
    "Phoenix-Mesa-Scottsdale, AZ",
    "Atlanta-Sandy Springs-Roswell, GA",
    "Chicago-Naperville-Elgin, IL-IN-WI",
    "New York-Newark-Jersey City, NY-NJ-PA",
    "Houston-The Woodlands-Sugar Land, TX",
    "Lansing-East Lansing, MI",
    "Portland-South Portland, ME",
    "Columbia, SC",
    "Cedar Rapids, IA",
    "Harrisburg-Carlisle, PA",
    "Tampa-St. Petersburg-Clearwater, FL",
    "Seattle-Tacoma-Bellevue, WA",
    "Red Bluff, CA",
)
USER_AGENTS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/"
    "36.0.1985.125 Chrome/36.0.1985.125 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like "
    "Gecko) Version/7.0 Mobile/11D257 Safari/9537.53",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/36.0.1985.143 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.9; rv:31.0) Gecko/20100101 Firefox/31.0",
    "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/35.0.1916.153 Safari/537.36",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
    '"Mozilla/5.0 (Windows NT 6.3; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/36.0.1985.143 Safari/537.36"',
)
ARTIST_LOCATIONS = (
    "Memphis, TN",
    "London, England",
    "California - LA",
    "North Carolina",
    "Ohio",
    "Burlington, Ontario, Canada",
    "Wisner, LA",
    "New York, NY",
    "Berlin, Germany",
    "Montr\u00e9al, Qu\u00e9bec",
    "S\u00e3o Paulo, Brazil",
    "Chicago, IL",
)
# Pages a logged-in user visits between plays, with their weights (eventsim's mix).
PAGES = (
    ("Home", 40),
    ("Thumbs Up", 45),
    ("Add to Playlist", 23),
    ("Add Friend", 15),
    ("Roll Advert", 12),
    ("Logout", 11),
    ("Thumbs Down", 9),
    ("Downgrade", 7),
    ("Settings", 5),
    ("Help", 5),
    ("Upgrade", 3),
    ("About", 2),
    ("Save Settings", 1),
    ("Error", 1),
    ("Submit Upgrade", 2),
    ("Submit Downgrade", 1),
)
PLAY_WEIGHT = 800  # NextSong, against the pages above (about 80 % of events)
VISITOR_PAGES = ("Home", "Login", "About", "Help")
