"""Names and words of the demo (runtime/demo.py): distinct people, companies and deals that read like a real book."""

from __future__ import annotations

FIRST_NAMES = (
    "Amara", "Ben", "Chloé", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kavya", "Liam",
    "Maya", "Nikolai", "Olivia", "Pablo", "Quentin", "Rosa", "Sanjay", "Tess", "Umar", "Valentina", "Wes",
    "Ximena", "Yusuf", "Zoe", "Aisha", "Bruno", "Camille", "Declan", "Esther", "Felix", "Greta", "Hamza",
    "Ingrid", "Jun", "Katarzyna", "Lucas", "Mirela", "Noor", "Oskar", "Priya", "Rafael", "Sofia", "Tomás",
    "Uma", "Viktor", "Wanjiru", "Yara", "Zain",
)
LAST_NAMES = (
    "Okafor", "Lindqvist", "Moreau", "Petrov", "Garcia", "Haddad", "Whitfield", "Tanaka", "Duarte", "Becker",
    "Iyer", "O'Brien", "Cohen", "Volkov", "Bennett", "Ruiz", "Lefèvre", "Conti", "Mehta", "Nakamura",
    "Farouk", "Rossi", "Carter", "Hernández", "Demir", "Fischer", "Abdi", "Santos", "Dubois", "Murphy",
    "Levi", "Andersen", "Kowalski", "Aziz", "Nilsen", "Park", "Nowak", "Almeida", "Popescu", "Rahman",
    "Berg", "Sharma", "Costa", "Romano", "Silva", "Patel", "Horvat", "Kamau", "Khalil", "Malik",
)
TITLES = ("Head of Operations", "CFO", "IT Manager", "Founder", "Procurement Lead", "VP Sales", "Office Manager",
          "COO", "Marketing Director", "Practice Manager")

# (company, domain, industry)
COMPANIES = (
    ("Northwind Logistics", "northwind-logistics", "logistics"), ("Bluebird Dental Group", "bluebirddental", "health"),
    ("Harbor & Pine Architects", "harborpine", "services"), ("Quartz Analytics", "quartz-analytics", "software"),
    ("Millbrook Bakery Co.", "millbrookbakery", "retail"), ("Sable Ridge Vineyards", "sableridge", "retail"),
    ("Copperline Electric", "copperline", "trades"), ("Lumen Eye Clinic", "lumeneye", "health"),
    ("Greenfield Property Management", "greenfieldpm", "services"),
    ("Atlas Freight Partners", "atlasfreight", "logistics"),
    ("Brightwater Schools Trust", "brightwater", "education"), ("Kestrel Robotics", "kestrel-robotics", "software"),
    ("Oakhaven Veterinary", "oakhavenvet", "health"), ("Meridian Legal LLP", "meridianlegal", "services"),
    ("Tidewater Marine Supply", "tidewatermarine", "retail"), ("Fernhill Fitness", "fernhillfitness", "retail"),
    ("Summit Roofing", "summitroofing", "trades"), ("Parallax Games", "parallaxgames", "software"),
    ("Cedar & Stone Interiors", "cedarstone", "services"), ("Riverside Community Clinic", "riversideclinic", "health"),
    ("Ironclad Security", "ironclad-sec", "trades"), ("Pennant Sports Club", "pennantclub", "education"),
    ("Verdant Landscaping", "verdantland", "trades"), ("Halcyon Travel", "halcyontravel", "services"),
    ("Orbit Coworking", "orbitcowork", "services"), ("Maplewood Senior Living", "maplewoodliving", "health"),
    ("Nimbus Cloud Hosting", "nimbushost", "software"), ("Saffron Kitchen Group", "saffronkitchen", "retail"),
    ("Beacon Accounting", "beaconaccounting", "services"), ("Wildflower Florists", "wildflowerflorists", "retail"),
    ("Granite Peak Outfitters", "granitepeak", "retail"), ("Lakeshore Language School", "lakeshorelang", "education"),
    ("Foxglove Pharmacy", "foxglovepharmacy", "health"), ("Trellis HR", "trellishr", "software"),
    ("Stonebridge Plumbing", "stonebridgeplumbing", "trades"), ("Aurora Film Studios", "aurorafilm", "services"),
    ("Pioneer Solar", "pioneersolar", "trades"), ("Willow Creek Montessori", "willowcreek", "education"),
    ("Redwood Capital Advisors", "redwoodcap", "services"), ("Tandem Bike Works", "tandembikes", "retail"),
)

# Deals by industry: (what is sold, value range in dollars)
DEALS = {
    "logistics": (("Fleet tracking rollout", 18000, 60000), ("Route planning licences", 6000, 24000),
                  ("Warehouse scanners", 9000, 40000)),
    "health": (("Patient reminder system", 4000, 15000), ("Online booking setup", 2500, 9000),
               ("Practice management migration", 12000, 38000)),
    "services": (("CRM onboarding package", 3500, 12000), ("Client portal", 8000, 26000),
                 ("Annual support plan", 2400, 7200)),
    "software": (("Data warehouse pilot", 15000, 48000), ("Team licences, 50 seats", 12000, 30000),
                 ("Security review", 6000, 18000)),
    "retail": (("Point-of-sale upgrade", 5000, 22000), ("Loyalty programme", 3000, 11000),
               ("E-commerce storefront", 7000, 25000)),
    "trades": (("Job scheduling app", 3000, 12000), ("Quote-to-invoice automation", 4000, 14000),
               ("Field tablets, 10 units", 6500, 16000)),
    "education": (("Enrolment portal", 6000, 20000), ("Parent messaging", 2000, 8000),
                  ("Staff training days", 1500, 6000)),
}

NEXT_ACTIONS = ("Call back about pricing", "Send the proposal", "Book a demo with the team",
                "Check the contract redlines", "Confirm the budget owner", "Share two customer references",
                "Follow up on the security questionnaire", "Schedule the kick-off")
NOTES = ("Spoke to {first}: keen, but the budget is set next quarter.", "{first} asked for a case study in {industry}.",
         "Demo went well; {first} wants their finance lead on the next call.",
         "Competitor quoted lower; we lead on support and onboarding.", "{first} is out until Monday.")
LOST_REASON_WEIGHTS = (("Price too high", 4), ("Chose a competitor", 5), ("No budget", 3),
                       ("No decision / went silent", 6), ("Bad timing", 2), ("Not a fit", 1))
FULFILMENT_LOST = ("Cancelled by the client", "Payment failed")
