use super::*;

fn parse(text: &str) -> Result<RegistryBudget, BudgetError> {
    text.parse()
}

fn limited(pulls: u64, window: &str) -> Budget {
    Budget::Limited {
        pulls,
        window: window.parse().unwrap(),
    }
}

#[test]
fn budget_flags_parse_with_minutes_hours_and_unlimited() {
    assert_eq!(
        parse("docker.io=150/6h"),
        Ok(RegistryBudget {
            registry: "docker.io".into(),
            budget: limited(150, "6h")
        })
    );
    assert_eq!(
        parse("quay.io=unlimited").unwrap().budget,
        Budget::Unlimited
    );
    assert_eq!(
        parse("registry.example.com:5000=10/90m").unwrap().budget,
        Budget::Limited {
            pulls: 10,
            window: Window(90 * 60)
        }
    );
    assert_eq!(parse("docker.io=0/1h").unwrap().budget, limited(0, "1h"));
}

#[test]
fn budget_registries_normalise_like_image_references() {
    for alias in [
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "Docker.IO",
    ] {
        let parsed = parse(&format!("{alias}=10/1h")).unwrap();
        assert_eq!(parsed.registry, "docker.io", "{alias}");
    }
    assert_eq!(parse("Quay.IO=1/1h").unwrap().registry, "quay.io");
    assert_eq!(parse("localhost=1/1h").unwrap().registry, "localhost");
}

#[test]
fn bad_budget_flags_say_what_is_wrong() {
    // (flag, what the error says, the part of the flag it quotes)
    let cases = [
        ("docker.io", "REGISTRY=PULLS/WINDOW", "docker.io"),
        ("docker.io=50", "REGISTRY=PULLS/WINDOW", "docker.io=50"),
        ("=50/6h", "not a registry host", "\"\""),
        ("nginx=50/6h", "not a registry host", "nginx"),
        (
            "docker.io/library=50/6h",
            "not a registry host",
            "docker.io/library",
        ),
        ("docker.io=many/6h", "whole number, e.g. 150", "many"),
        ("docker.io=-1/6h", "whole number, e.g. 150", "-1"),
        ("docker.io=50/6", "minutes or hours", "\"6\""),
        ("docker.io=50/6d", "minutes or hours", "6d"),
        ("docker.io=50/1.5h", "minutes or hours", "1.5h"),
        ("docker.io=50/0h", "at least one minute", "0h"),
    ];
    for (flag, says, quotes) in cases {
        let error = parse(flag).expect_err(flag).to_string();
        assert!(error.contains(says), "{flag}: {error}");
        assert!(error.contains(quotes), "{flag}: {error}");
    }
}

#[test]
fn default_budget_is_half_of_docker_hubs_anonymous_quota() {
    let budgets = RegistryBudgets::default();
    assert_eq!(budgets.budget("docker.io"), limited(50, "6h"));
    assert_eq!(budgets.budget("quay.io"), Budget::Unlimited);
    assert_eq!(budgets.interval(), Window(900));
    assert_eq!(
        DEFAULT_BUDGET.parse::<RegistryBudget>().unwrap().budget,
        limited(50, "6h")
    );
}

#[test]
fn flags_override_the_default_and_later_flags_win() {
    let flags = [
        parse("quay.io=10/1h").unwrap(),
        parse("index.docker.io=unlimited").unwrap(),
        parse("quay.io=20/1h").unwrap(),
    ];
    let budgets = RegistryBudgets::new(&flags, Window(900));
    assert_eq!(budgets.budget("docker.io"), Budget::Unlimited);
    assert_eq!(budgets.budget("quay.io"), limited(20, "1h"));
    assert!(budgets.any_limited());
}

#[test]
fn one_tag_costs_24_pulls_per_6h_and_two_fit_in_50() {
    let budgets = RegistryBudgets::default();
    let six_hours = Window(6 * HOUR);
    assert_eq!(budgets.pulls_per_window(1, six_hours), 24);
    assert!(budgets.allows("docker.io", 2), "48 <= 50");
    assert!(!budgets.allows("docker.io", 3), "72 > 50");
    assert!(budgets.allows("quay.io", 1_000_000));
}

#[test]
fn budget_exactly_reached_is_allowed() {
    let flags = [parse("docker.io=48/6h").unwrap()];
    let budgets = RegistryBudgets::new(&flags, Window(900));
    assert!(budgets.allows("docker.io", 2));
    assert!(!budgets.allows("docker.io", 3));
}

#[test]
fn uneven_windows_round_projected_pulls_up_but_compare_exactly() {
    // 25-minute interval, 1 h window: one tag imports 2.4 times an hour.
    let flags = [parse("quay.io=12/1h").unwrap()];
    let budgets = RegistryBudgets::new(&flags, "25m".parse().unwrap());
    assert_eq!(budgets.pulls_per_window(1, Window(HOUR)), 3);
    assert!(budgets.allows("quay.io", 5), "5 x 2.4 = 12");
    assert!(!budgets.allows("quay.io", 6));
}

#[test]
fn windows_print_in_the_unit_they_are_read_in() {
    for text in ["6h", "15m", "90m", "1h"] {
        assert_eq!(text.parse::<Window>().unwrap().to_string(), text);
    }
}
