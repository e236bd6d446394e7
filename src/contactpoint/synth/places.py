"""Councils, towns and street names for the synthetic England.

Each council has its DfE LA code, a relative population weight, a postcode area and its
towns; postcode districts (outward codes) are dealt to towns within the area so that every
town owns its own districts.
"""

from __future__ import annotations

from typing import Final


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())

# (LA code, council name, weight, postcode area, towns)
COUNCILS: Final[tuple[tuple[int, str, float, str, tuple[str, ...]], ...]] = (
    (202, "Camden", 1.0, "NW", ("London",)),
    (204, "Hackney", 1.2, "E", ("London",)),
    (208, "Lambeth", 1.2, "SE", ("London",)),
    (211, "Tower Hamlets", 1.3, "E", ("London",)),
    (306, "Croydon", 1.6, "CR", ("Croydon", "Coulsdon", "Purley", "South Croydon")),
    (330, "Birmingham", 4.8, "B", ("Birmingham", "Sutton Coldfield", "Erdington", "Solihull")),
    (331, "Coventry", 1.5, "CV", ("Coventry", "Kenilworth", "Bedworth")),
    (336, "Wolverhampton", 1.1, "WV", ("Wolverhampton", "Bilston", "Wednesfield")),
    (341, "Liverpool", 2.0, "L", ("Liverpool", "Bootle", "Huyton")),
    (352, "Manchester", 2.4, "M", ("Manchester", "Salford", "Stretford", "Didsbury")),
    (353, "Oldham", 1.0, "OL", ("Oldham", "Royton", "Chadderton", "Shaw")),
    (356, "Stockport", 1.2, "SK", ("Stockport", "Cheadle", "Bramhall", "Marple")),
    (373, "Sheffield", 2.4, "S", ("Sheffield", "Stocksbridge", "Chapeltown")),
    (380, "Bradford", 2.3, "BD", ("Bradford", "Keighley", "Bingley", "Shipley", "Ilkley")),
    (383, "Leeds", 3.2, "LS", ("Leeds", "Morley", "Pudsey", "Otley", "Wetherby", "Garforth")),
    (391, "Newcastle upon Tyne", 1.3, "NE", ("Newcastle upon Tyne", "Gosforth", "Walker")),
    (394, "Sunderland", 1.1, "SR", ("Sunderland", "Washington", "Houghton-le-Spring")),
    (801, "Bristol", 1.9, "BS", ("Bristol", "Filton", "Kingswood")),
    (821, "Luton", 1.0, "LU", ("Luton", "Dunstable", "Houghton Regis")),
    (850, "Hampshire", 5.0, "SO", ("Winchester", "Eastleigh", "Andover", "Romsey",
                                    "Basingstoke", "Alton", "Fareham", "Petersfield",
                                    "Lymington", "Totton")),
    (856, "Leicester", 1.5, "LE", ("Leicester", "Oadby", "Wigston", "Birstall")),
    (873, "Cambridgeshire", 2.6, "CB", ("Cambridge", "Ely", "Huntingdon", "St Neots",
                                        "March", "Wisbech", "St Ives")),
    (886, "Kent", 6.0, "ME", ("Maidstone", "Chatham", "Gillingham", "Sittingbourne",
                              "Faversham", "Rochester", "Tonbridge", "Sevenoaks",
                              "Ashford", "Canterbury", "Dover", "Folkestone", "Margate")),
    (908, "Cornwall", 2.1, "TR", ("Truro", "Falmouth", "Penzance", "St Austell", "Newquay",
                                  "Redruth", "Camborne", "Bodmin", "Launceston")),
    (919, "Hertfordshire", 4.6, "AL", ("St Albans", "Watford", "Stevenage", "Hemel Hempstead",
                                       "Hatfield", "Hitchin", "Harpenden", "Welwyn Garden City",
                                       "Hertford", "Bishop's Stortford")),
    (925, "Lincolnshire", 2.7, "LN", ("Lincoln", "Grantham", "Boston", "Spalding",
                                      "Gainsborough", "Sleaford", "Skegness", "Louth",
                                      "Stamford")),
    (926, "Norfolk", 3.2, "NR", ("Norwich", "Great Yarmouth", "King's Lynn", "Thetford",
                                 "Dereham", "Wymondham", "Cromer", "Diss", "North Walsham")),
    (931, "Oxfordshire", 2.6, "OX", ("Oxford", "Banbury", "Bicester", "Abingdon", "Witney",
                                     "Didcot", "Henley-on-Thames", "Wantage")),
    (936, "Surrey", 4.5, "GU", ("Guildford", "Woking", "Farnham", "Camberley", "Godalming",
                                "Epsom", "Reigate", "Redhill", "Leatherhead", "Dorking")),
    (937, "Warwickshire", 2.1, "CV", ("Warwick", "Leamington Spa", "Nuneaton", "Rugby",
                                      "Stratford-upon-Avon", "Atherstone")),
    (941, "West Northamptonshire", 1.6, "NN", ("Northampton", "Daventry", "Towcester",
                                               "Brackley")),
    (381, "Calderdale", 0.8, "HX", ("Halifax", "Brighouse", "Todmorden", "Hebden Bridge",
                                    "Elland", "Sowerby Bridge")),
)

STREET_STEMS: Final[tuple[str, ...]] = _words("""
    Victoria Albert Church Station Park Mill High King Queen Manor Grange Oak Elm Ash
    Beech Willow Cedar Chestnut Birch Hawthorn Holly Maple Rowan Sycamore Orchard Meadow
    Field Brook River Bridge Castle Abbey Chapel School Market Green Hill Valley Spring
    Windsor York Lancaster Cambridge Oxford Stanley Grosvenor Clarence Alexandra
    Belgrave Cavendish Devonshire Salisbury Warwick Kingsway Fairfield Highfield
    Woodland Springfield Greenfield Westfield Northfield Southfield Eastfield Broad
    Mount Richmond Ashley Beaumont Burns Byron Chaucer Dickens Milton Shelley Tennyson
    Wordsworth Nelson Wellington Trafalgar Balmoral Sandringham Marlborough Cromwell
    Lister Darwin Newton Faraday Telford Brunel Stephenson Wesley Hampden Kenilworth
    Ludlow Tudor Stuart Norman Saxon Heather Primrose Bluebell Lavender Foxglove Clover
    Poppy Daisy Jubilee Coronation Lime Pine Larch Laurel Hazel Cherry Apple Plum Pear
    Mulberry Juniper Linden Acorn Moor Heath Common Forest Lake Pond Wharf Canal Quay
    Harbour Shore Cliff Ridge Crest Vale Dale Glen Combe Hollow
""")

STREET_SUFFIXES: Final[tuple[str, ...]] = (
    "Road", "Street", "Avenue", "Close", "Lane", "Drive", "Way", "Gardens", "Crescent",
    "Place", "Court", "Grove", "Terrace", "Walk", "Rise", "Mews", "Square", "View", "Row",
)
# the proportions in which the suffixes occur (Road and Street dominate)
STREET_SUFFIX_WEIGHTS: Final[tuple[float, ...]] = (
    30, 20, 10, 10, 8, 6, 4, 4, 4, 3, 3, 3, 3, 2, 2, 1, 1, 1, 1,
)

HOUSE_NAMES: Final[tuple[str, ...]] = (
    "Rose Cottage", "The Old Rectory", "Ivy House", "The Laurels", "Orchard House",
    "Willow Cottage", "The Barn", "Holly Lodge", "Meadow View", "The Coach House",
)

SCHOOL_FORMS: Final[tuple[str, ...]] = (
    "{stem} Primary School", "{stem} Infant and Junior School",
    "St {saint}'s C of E Primary School",
    "St {saint}'s Catholic Primary School", "{stem} Primary Academy", "{town} {stem} Primary",
)
SECONDARY_FORMS: Final[tuple[str, ...]] = (
    "{town} Academy", "{stem} High School", "{stem} School", "{town} Grammar School",
    "{stem} Community College", "St {saint}'s Catholic High School",
)
SAINTS: Final[tuple[str, ...]] = (
    "Mary", "John", "Peter", "Paul", "Andrew", "Michael", "George", "Anne", "Joseph",
    "Margaret", "Thomas", "Patrick", "Bede", "Chad", "Luke", "Mark", "Matthew", "James",
)
GP_FORMS: Final[tuple[str, ...]] = (
    "{stem} Medical Centre", "{stem} Surgery", "{town} Health Centre", "{stem} Family Practice",
    "The {stem} Practice", "{stem} Road Surgery",
)
