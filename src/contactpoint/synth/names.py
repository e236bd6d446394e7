"""Name pools for the synthetic population, most common first (sampled with a Zipf-like skew).

Each origin group has its own forename and surname pools, so that households carry
plausible names and common names are common (Oliver Smith appears in many towns). The tables
of nicknames, transliteration variants and similar forenames feed the hard cases.
"""

from __future__ import annotations

from typing import Final


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# origin code -> (share of households, male forenames, female forenames, surnames)
ORIGINS: Final[tuple[str, ...]] = (
    "english", "south_asian", "east_european", "african", "caribbean", "chinese", "arabic",
)
ORIGIN_SHARE: Final[tuple[float, ...]] = (0.70, 0.10, 0.05, 0.05, 0.03, 0.02, 0.05)

MALE: Final[dict[str, tuple[str, ...]]] = {
    "english": _words("""
        Oliver George Noah Arthur Leo Harry Oscar Archie Henry Theodore Freddie Jack Charlie
        Theo Alfie Jacob Thomas Finley Arlo William Lucas Roman Tommy Isaac Teddy Alexander
        Luca Edward James Joshua Albie Elijah Max Mason Reuben Joseph Louie Jude Ezra
        Sebastian Rory Ronnie Hugo Frankie Harrison Toby Reggie Jaxon Ethan Daniel Samuel
        Benjamin Dylan Jenson Riley Grayson Logan Zachary Rowan Jesse Harley Otis Caleb
        Louis Finn Michael Elliot Felix Ollie Harvey Bobby Ralph Stanley Jasper Hunter
        Dexter Kai Matthew Nathan Callum Liam Connor Kyle Lewis Ryan Jake Aaron Owen Adam
        Ben Luke Tyler Cameron Bradley Jamie Charles Robert Christopher Patrick Sam Billy
        Alex Jayden Rhys Gabriel Aiden Tobias Austin Spencer Elliott Jordan Kieran Declan
    """),
    "south_asian": _words("""
        Mohammed Muhammad Ibrahim Yusuf Ayaan Zayn Aarav Arjun Rayan Ali Omar Hamza Adam
        Zain Harris Ismail Ahmed Ayaan Hassan Rohan Vihaan Krish Dev Aryan Kabir Reyansh
        Ishaan Arnav Rahul Sahil Imran Bilal Faisal Usman Abdullah Haris Zakariya Idris
        Amir Kian Rayyan Aadam Ayub Tariq Sami Nikhil Harjeet Gurpreet Jaspreet Manpreet
        Sukhdeep Anand Vikram Sanjay Pranav Aditya
    """),
    "east_european": _words("""
        Jakub Filip Szymon Antoni Kacper Aleksander Jan Mikolaj Wojciech Oliwer Lukasz
        Mateusz Dawid Bartosz Maksymilian Igor Tomasz Adrian Piotr Michal Krzysztof Marek
        Aleksandr Dmitri Andrei Ivan Nikita Artem Matei Luca Stefan Darius Ionut Andrei
        Vasile Bogdan Tudor Lukas Martin Tadas Mantas Nojus Karol Oskar Patryk
    """),
    "african": _words("""
        David Daniel Samuel Emmanuel Joshua Michael Tobi Tomiwa Ayomide Oluwaseun Chidi
        Chinedu Obinna Kwame Kofi Kwabena Yaw Kwesi Ebuka Femi Tunde Segun Ade Malik Tariq
        Abdi Mohamed Abdirahman Hamza Yonas Dawit Elijah Jayden Nathaniel Israel Favour
        Precious Godwin Ifeanyi Chukwuemeka Somtochukwu
    """),
    "caribbean": _words("""
        Jayden Tyrese Kai Malachi Josiah Jamal Marcus Andre Dwayne Kyle Reuben Isaiah
        Elijah Nathaniel Dante Trey Leon Darnell Curtis Errol Winston Delroy Lloyd Shaquille
        Tyler Jordan Zion Micah Kemar
    """),
    "chinese": _words("""
        Wei Jun Hao Yi Jie Ming Hong Kai Lei Bo Chen Yu Zhi Jian Hui Kevin Eric Jason Ethan
        Ryan Lucas Leo Daniel Oscar Tian Xin Jia Long Feng
    """),
    "arabic": _words("""
        Mohammed Muhammad Ahmed Omar Ali Yusuf Youssef Ibrahim Khalid Hamza Adam Zakaria
        Abdullah Mustafa Karim Tariq Sami Rami Hassan Hussein Mahmoud Amir Bilal Ismail
        Nabil Fares Rayan Ziad Anas Idris
    """),
}

FEMALE: Final[dict[str, tuple[str, ...]]] = {
    "english": _words("""
        Olivia Amelia Isla Ava Ivy Freya Lily Florence Mia Willow Rosie Sophia Isabella
        Grace Daisy Sienna Poppy Elsie Emily Ella Evelyn Phoebe Sofia Evie Charlotte
        Harper Millie Matilda Maya Sophie Alice Emilia Isabelle Ruby Luna Maisie Aria
        Penelope Mila Bonnie Eva Hallie Eliza Ellie Esme Imogen Layla Margot Thea Violet
        Jessica Chloe Hannah Lucy Megan Holly Lauren Amy Katie Emma Ellie Georgia Abigail
        Erin Molly Scarlett Zara Paige Bethany Rebecca Eleanor Harriet Annabelle Beatrice
        Elizabeth Margaret Catherine Victoria Jasmine Niamh Orla Leah Nancy Edith Elodie
        Hazel Aurora Delilah Robyn Summer Darcie Lacey Tilly Ada Mabel Lottie Martha
        Jennifer Samantha Rachel Natalie Louise Kayleigh Gemma Danielle
    """),
    "south_asian": _words("""
        Maryam Fatima Aisha Zara Hafsa Khadija Amira Inaya Hana Zainab Aleena Anaya Eshal
        Mariam Aliza Safa Noor Sara Zoya Ayesha Iqra Amna Sana Mehreen Priya Anika Diya
        Saanvi Aanya Myra Kiara Riya Isha Navya Simran Harleen Jasleen Gurleen Amrit Manpreet
        Sukhmani Meera Nisha Pooja Shreya Tara Asha Divya Kavya
    """),
    "east_european": _words("""
        Zuzanna Julia Maja Zofia Hanna Lena Alicja Maria Amelia Oliwia Wiktoria Natalia
        Aleksandra Anastasia Sofia Anna Ekaterina Daria Polina Ioana Andreea Elena Maria
        Bianca Alexandra Gabriela Emilija Ugne Kamila Nikola Weronika Martyna Milena
    """),
    "african": _words("""
        Precious Favour Blessing Grace Esther Deborah Ruth Tiwa Ayomide Temitope Oluwadamilola
        Chioma Adaeze Chiamaka Nneka Ngozi Ama Akosua Abena Adwoa Efua Amina Hodan Ifrah
        Fadumo Hibo Hana Selam Mercy Joy Gift Comfort Zainab Nia Imani
    """),
    "caribbean": _words("""
        Aaliyah Jada Kiara Tiana Shanice Keisha Latoya Monique Chantelle Destiny Aaliya
        Nevaeh Amani Jasmine Serena Tamika Kerry-Ann Shantel Janelle Simone Nia Zoe Imani
        Leanne Kadeem Marcia Sharon
    """),
    "chinese": _words("""
        Mei Ling Xin Yan Jing Hui Li Na Yu Xiao Fang Hong Qing Lan Ying Chloe Emily Grace
        Hannah Jessica Amy Vivian Tina Lily Yuki Wen Jia Rui Zhen
    """),
    "arabic": _words("""
        Maryam Fatima Aisha Layla Nour Sara Salma Yasmin Amira Hana Rania Lina Dina Huda
        Reem Leen Malak Jana Zainab Mariam Rahaf Hala Farah Nadia Samira Zahra Iman Ruqayyah
        Safiya Asma
    """),
}

SURNAMES: Final[dict[str, tuple[str, ...]]] = {
    "english": _words("""
        Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
        Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel
        Jackson Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison
        Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths
        Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox
        Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster
        Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer
        Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray
        Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart
        Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole
        Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan
        Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter
        Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins
        Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah
        Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd
        Ross Cross Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson
        Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss McCarthy Chambers
        O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace
        George Jordan Hutchinson Rowe Burke May Pritchard Gilbert Willis Higgins Read Miles
        Stevenson Stephenson Hammond Arnold Buckley Walters Hewitt Barber Nelson Slater
        Austin Sullivan Whitehead Mann Frost Lambert Stephens Blake Akhtar Lynch Goodwin
        Barton Woodward Thomson Cunningham Quinn Barnett Baxter Bibi Clayton Nash Greenwood
        Jennings Holt Kemp Poole Gallagher Bond Stokes Tucker Davidson Fowler Heath Norman
        Middleton Lawson Banks French Stanley Jarvis Gibbs Ferguson Hayward Carroll Douglas
        Dickinson Todd Barlow Peters Lucas Knowles Hartley Miah Simmons Morton Alexander
        Field Morrison Norris Townsend Preston Hancock Thornton Baldwin Burrows Briggs
        Storey Pugh Fuller Gough Hargreaves-Smith Ashworth-Jones Fielding-Brown Lloyd-Webber
        Spencer-Churchill Rhys-Davies Bowes-Lyon Heald-Green Smith-Jones Taylor-Wood
    """),
    "south_asian": _words("""
        Khan Ahmed Ali Hussain Patel Begum Akhtar Shah Singh Kaur Mahmood Iqbal Rahman Islam
        Uddin Miah Hassan Mohammed Sharma Kumar Mistry Chauhan Parmar Gill Sandhu Sidhu
        Bains Dhillon Johal Rana Malik Qureshi Butt Chaudhry Raja Bhatti Anwar Aslam Aziz
        Hossain Chowdhury Sheikh Sultana Khatun Rashid Nawaz Javed Mirza Siddiqui Kapoor
        Mehta Joshi Desai Verma Gupta Reddy Nair Pillai Choudhury-Khan
    """),
    "east_european": _words("""
        Nowak Kowalski Wisniewski Wojcik Kowalczyk Kaminski Lewandowski Zielinski Szymanski
        Wozniak Dabrowski Kozlowski Jankowski Mazur Kwiatkowski Krawczyk Piotrowski Grabowski
        Nowakowski Pawlowski Michalski Popescu Ionescu Popa Stan Dumitru Stoica Gheorghe
        Petrov Ivanov Smirnov Kuznetsov Sokolov Kazlauskas Jankauskas Petrauskas Horvath
        Nagy Kovacs Novak Dvorak Svoboda
    """),
    "african": _words("""
        Okafor Adeyemi Oluwole Mensah Osei Boateng Asante Owusu Appiah Adebayo Okonkwo
        Nwosu Eze Obi Ogunleye Balogun Bello Mohamed Abdi Hassan Ahmed Ali Warsame Farah
        Tesfaye Haile Bekele Mwangi Ochieng Kamau Banda Phiri Moyo Ndlovu Sithole Okeke
        Adeleke Akinola Afolabi Oyelaran
    """),
    "caribbean": _words("""
        Campbell Brown Williams Thompson Clarke Francis Grant Lewis Johnson Henry Reid
        Robinson Richards Walker Morgan Gordon Bailey Edwards Charles Joseph Baptiste
        Samuels Bryan McKenzie Forbes Gayle Spence Blake Wright Powell
    """),
    "chinese": _words("""
        Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Luo
        Gao Cheung Chan Wong Lam Ng Leung Ho Tang Lau Yip
    """),
    "arabic": _words("""
        Ali Ahmed Hassan Hussein Mohamed Ibrahim Abdullah Saleh Mahmoud Khalil Nasser Haddad
        Mansour Farouk Said Aziz Karim Othman Yousef Omar Hamdan Al-Sayed Al-Masri
        El-Amin Al-Rashid Abbas Jaber Darwish Issa Qasim
    """),
}

# preferred / known-as forms: formal -> informal forms
NICKNAMES: Final[dict[str, tuple[str, ...]]] = {
    "Alexander": ("Alex", "Xander", "Sandy"), "Alexandra": ("Alex", "Lexi", "Sasha"),
    "William": ("Will", "Billy", "Liam"), "Margaret": ("Maggie", "Meg", "Peggy"),
    "Elizabeth": ("Lizzie", "Beth", "Eliza", "Libby"), "Thomas": ("Tom", "Tommy"),
    "James": ("Jim", "Jamie", "Jimmy"), "Robert": ("Rob", "Bobby", "Bob"),
    "Christopher": ("Chris", "Kit"), "Benjamin": ("Ben", "Benji"), "Daniel": ("Dan", "Danny"),
    "Samuel": ("Sam", "Sammy"), "Joseph": ("Joe", "Joey"), "Joshua": ("Josh",),
    "Matthew": ("Matt",), "Michael": ("Mike", "Mikey", "Mick"), "Nathan": ("Nate",),
    "Nathaniel": ("Nate", "Nat"), "Edward": ("Ed", "Eddie", "Ted", "Teddy"),
    "Theodore": ("Theo", "Teddy"), "Frederick": ("Freddie", "Fred"), "Henry": ("Harry", "Hal"),
    "Charles": ("Charlie", "Chas"), "Harrison": ("Harry",), "Archibald": ("Archie",),
    "Alfred": ("Alfie", "Alf"), "Reginald": ("Reggie",), "Ronald": ("Ronnie",),
    "Stanley": ("Stan",), "Zachary": ("Zach", "Zac"), "Sebastian": ("Seb",),
    "Tobias": ("Toby",), "Jacob": ("Jake",), "Oliver": ("Ollie", "Olly"),
    "Gabriel": ("Gabe",), "Elliot": ("Eli",), "Elijah": ("Eli",), "Isaac": ("Zac",),
    "Maximilian": ("Max",), "Maksymilian": ("Max",), "Jonathan": ("Jon", "Jonny"),
    "Anthony": ("Tony", "Ant"), "Patrick": ("Pat", "Paddy"), "Frankie": ("Frank",),
    "Lewis": ("Lew",), "Dominic": ("Dom",), "Timothy": ("Tim", "Timmy"),
    "Nicholas": ("Nick", "Nicky"), "Andrew": ("Andy", "Drew"), "Harvey": ("Harv",),
    "Olivia": ("Liv", "Livvy", "Ollie"), "Isabella": ("Bella", "Izzy", "Issy"),
    "Isabelle": ("Izzy", "Belle"), "Amelia": ("Millie", "Amy", "Mia"),
    "Charlotte": ("Lottie", "Charlie"), "Florence": ("Flo", "Florrie"),
    "Matilda": ("Tilly", "Tilda"), "Catherine": ("Kate", "Katie", "Cathy"),
    "Victoria": ("Vicky", "Tori"), "Rebecca": ("Becky", "Becca"), "Jessica": ("Jess", "Jessie"),
    "Abigail": ("Abbie", "Abby"), "Samantha": ("Sam", "Sammy"), "Jennifer": ("Jen", "Jenny"),
    "Eleanor": ("Ellie", "Nell", "Nora"), "Harriet": ("Hattie",), "Annabelle": ("Annie", "Belle"),
    "Beatrice": ("Bea", "Trixie"), "Penelope": ("Penny",), "Evelyn": ("Evie",),
    "Emily": ("Em", "Emmy"), "Georgia": ("George",), "Natalie": ("Nat",),
    "Gabriela": ("Gabi",), "Aleksandra": ("Ola",), "Aleksander": ("Olek", "Alex"),
    "Aleksandr": ("Sasha", "Alex"), "Wiktoria": ("Wiki",), "Zuzanna": ("Zuzia",),
    "Ekaterina": ("Katya",), "Anastasia": ("Nastya", "Stacey"), "Mohammed": ("Mo",),
    "Muhammad": ("Mo",), "Ibrahim": ("Ibby", "Ibi"), "Abdullah": ("Abdul",),
    "Abdirahman": ("Abdi",), "Oluwaseun": ("Seun",), "Oluwadamilola": ("Dami", "Lola"),
    "Chukwuemeka": ("Emeka",), "Somtochukwu": ("Somto",), "Ayomide": ("Ayo",),
    "Temitope": ("Tope", "Temi"), "Chiamaka": ("Ama",), "Emmanuel": ("Manny",),
    "Zakariya": ("Zak",), "Zakaria": ("Zak",), "Ismail": ("Izzy",), "Mustafa": ("Musti",),
    "Nikita": ("Nik",), "Dmitri": ("Dima",), "Krzysztof": ("Krzys", "Chris"),
    "Wojciech": ("Wojtek",), "Mateusz": ("Matt",), "Mikolaj": ("Nick",), "Bartosz": ("Bartek",),
    "Jayden": ("Jay",), "Malachi": ("Kai",), "Josiah": ("Josh",), "Isaiah": ("Zay",),
    "Jasmine": ("Jas", "Jazz"), "Destiny": ("Dess",), "Mariam": ("Mimi",),
    "Maryam": ("Mimi",), "Khadija": ("Dija",), "Ruqayyah": ("Ruqi",), "Priya": ("Pri",),
}

# spelling variants of the same name (transliteration, regional spelling)
TRANSLITERATIONS: Final[tuple[tuple[str, ...], ...]] = (
    ("Mohammed", "Muhammad", "Mohammad", "Mohamed", "Muhammed"),
    ("Aleksandr", "Alexander", "Aleksander", "Oleksandr"), ("Yusuf", "Yousef", "Youssef", "Yusef"),
    ("Ahmed", "Ahmad", "Ahmet"), ("Hussein", "Husain", "Hussain"), ("Hassan", "Hasan"),
    ("Omar", "Umar"), ("Ibrahim", "Ebrahim"), ("Ismail", "Ismael"),
    ("Zakariya", "Zakaria", "Zakariyya"),
    ("Fatima", "Fatimah", "Fatma"), ("Aisha", "Ayesha", "Aysha"), ("Maryam", "Mariam", "Mariyam"),
    ("Zainab", "Zaynab"), ("Khadija", "Khadijah"), ("Layla", "Laila", "Leila"),
    ("Nour", "Noor", "Nur"), ("Yasmin", "Yasmine", "Jasmin"), ("Dmitri", "Dmitry", "Dimitri"),
    ("Andrei", "Andrey", "Andrej"), ("Sofia", "Sophia", "Zofia"), ("Ekaterina", "Yekaterina"),
    ("Anastasia", "Anastasiya"), ("Nikita", "Mykyta"), ("Mikolaj", "Mikołaj"),
    ("Lukasz", "Łukasz"), ("Jakub", "Jacob"), ("Artem", "Artyom"), ("Chen", "Chan"),
    ("Zhang", "Cheung"), ("Wong", "Wang", "Huang"), ("Li", "Lee"), ("Liu", "Lau"),
    ("Wu", "Ng"), ("Zhou", "Chow"), ("Hu", "Wu"), ("Tariq", "Tarik"), ("Mahmood", "Mahmud"),
    ("Chaudhry", "Choudhury", "Chowdhury"), ("Rahman", "Rehman"), ("Uddin", "Udin"),
    ("Mohamed", "Mohammed"), ("Abdirahman", "Abdulrahman"), ("Kwabena", "Kobina"),
    ("Nowak", "Novak"), ("Wisniewski", "Wiśniewski"), ("Wojcik", "Wójcik"),
    ("Ioana", "Joanna"), ("Tomasz", "Thomas"), ("Piotr", "Peter"), ("Jan", "John"),
)

# forename pairs a family might give twins: similar on purpose (rare)
SIMILAR_FORENAMES: Final[tuple[tuple[str, str], ...]] = (
    ("Isla", "Isabella"), ("Ella", "Eliza"), ("Lily", "Lila"), ("Mia", "Maya"),
    ("Olivia", "Olive"), ("Amelia", "Amelie"), ("Evie", "Eva"), ("Ava", "Ada"),
    ("Rosie", "Rose"), ("Emily", "Emilia"), ("Sophie", "Sofia"), ("Daisy", "Maisie"),
    ("Jack", "Jake"), ("Harry", "Harvey"), ("Leo", "Theo"), ("Alfie", "Archie"),
    ("Oliver", "Oscar"), ("Lucas", "Luca"), ("Finn", "Flynn"), ("Noah", "Noel"),
    ("Mason", "Jason"), ("Aiden", "Jayden"), ("Ryan", "Rayan"), ("Zain", "Zayn"),
    ("Hassan", "Hussain"), ("Hana", "Hanna"), ("Aisha", "Alisha"), ("Aaron", "Adam"),
)

# --- the ``name_origins`` condition: a population unlike the default England ------------------

# shares of households by origin (same order as ORIGINS) when the mix is fully applied
MIXED_ORIGIN_SHARE: Final[tuple[float, ...]] = (0.35, 0.20, 0.12, 0.12, 0.03, 0.08, 0.10)

# Arabic surnames with their article, as families write them
ARABIC_PREFIXED: Final[tuple[str, ...]] = _words("""
    Al-Hashimi Al-Amin El-Sayed Al-Khatib Al-Najjar El-Masri Al-Hassan Al-Farsi Al-Zahrani
    El-Din Al-Obeidi Al-Tamimi Al-Qahtani El-Hadi Al-Jabouri Al-Ansari El-Khoury Al-Shami
    Al-Harbi Al-Mutairi El-Gamal Al-Saadi Al-Baghdadi El-Badawi
""")

# spelling variants of the wider pools (transliteration, anglicised forms)
MIXED_TRANSLITERATIONS: Final[tuple[tuple[str, ...], ...]] = (
    ("Abdul", "Abdel", "Abdool"), ("Abdullah", "Abdallah", "Abdulla"), ("Hamza", "Hamzah"),
    ("Ayaan", "Ayan"), ("Zayn", "Zain", "Zayan"), ("Rayyan", "Rayan", "Raiyan"),
    ("Aarav", "Arav"), ("Ishaan", "Ishan"), ("Vihaan", "Vihan"), ("Priya", "Prya"),
    ("Muhammad", "Mohammed", "Mohammad", "Muhammed", "Mohamed"), ("Iqra", "Iqrah"),
    ("Jannat", "Jannath"), ("Sumaiya", "Sumaya", "Somaya"), ("Tasnim", "Tasneem"),
    ("Ferdous", "Firdous", "Ferdaus"), ("Chowdhury", "Choudhury", "Chaudhry"),
    ("Rahman", "Rehman", "Rahmaan"), ("Hossain", "Hussain", "Hosain"),
    ("Oluwaseun", "Oluseun"), ("Oluwadamilola", "Damilola"), ("Chukwuemeka", "Chukwuma"),
    ("Adebayo", "Adebayor"), ("Oluwatobi", "Tobi"), ("Ngozi", "Ngozy"),
    ("Zhang", "Chang", "Cheung"), ("Xu", "Hsu", "Tsui"), ("Zhou", "Chou", "Chow"),
    ("Huang", "Wong", "Hwang"), ("Chen", "Chan", "Chin"), ("Liu", "Lau", "Lew"),
    ("Xiao", "Hsiao", "Siu"), ("Qing", "Ching"), ("Jian", "Chien"),
    ("Katarzyna", "Katharina"), ("Małgorzata", "Malgorzata"), ("Michał", "Michal"),
    ("Paweł", "Pawel"), ("Wojciech", "Wojtek"), ("Krzysztof", "Christopher"),
)
