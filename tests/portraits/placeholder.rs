use gamemaster::core::portrait::placeholder::{
    PORTRAIT_SIDE, background_colour, render_placeholder,
};

fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let mut reader = png::Decoder::new(bytes).read_info().expect("PNG header");
    let mut rgb = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut rgb).expect("PNG frame");
    rgb.truncate(info.buffer_size());
    (info.width, info.height, rgb)
}

#[test]
fn renders_a_square_png_with_the_name_colour_as_background() {
    let (width, height, rgb) = decode(&render_placeholder("Elara Moonwhisper", "Wizard").unwrap());
    assert_eq!((width, height), (PORTRAIT_SIDE, PORTRAIT_SIDE));
    let expected = background_colour("Elara Moonwhisper");
    assert_eq!(&rgb[..3], [expected.0, expected.1, expected.2]);
    let distinct: std::collections::HashSet<_> = rgb.chunks_exact(3).collect();
    assert!(distinct.len() > 10, "initials and emblem add colours");
}

#[test]
fn is_deterministic() {
    let first = render_placeholder("Grog Strongjaw", "Barbarian").unwrap();
    let second = render_placeholder("Grog Strongjaw", "Barbarian").unwrap();
    assert_eq!(first, second);
}

#[test]
fn different_names_get_different_backgrounds() {
    let names = [
        "Elara", "Grog", "Vex", "Pike", "Scanlan", "Keyleth", "Percy", "Vax",
    ];
    let corners: std::collections::HashSet<Vec<u8>> = names
        .iter()
        .map(|name| decode(&render_placeholder(name, "Rogue").unwrap()).2[..3].to_vec())
        .collect();
    assert!(corners.len() >= 7, "{} colours for 8 names", corners.len());
    assert_ne!(background_colour("Elara"), background_colour("Grog"));
}

#[test]
fn class_changes_the_emblem_area() {
    let emblem_rows = |class: &str| {
        let (width, _, rgb) = decode(&render_placeholder("Vex", class).unwrap());
        rgb[(330 * width * 3) as usize..(430 * width * 3) as usize].to_vec()
    };
    assert_ne!(emblem_rows("Fighter"), emblem_rows("Wizard"));
    assert_ne!(emblem_rows("Cleric"), emblem_rows("Unknown class"));
}

#[test]
fn odd_names_and_classes_still_render() {
    for (name, class) in [
        ("", ""),
        ("ドラゴン 姫", "Sorcerer"),
        ("  x  ", "a very long custom homebrew class"),
    ] {
        let (width, height, _) = decode(&render_placeholder(name, class).unwrap());
        assert_eq!((width, height), (PORTRAIT_SIDE, PORTRAIT_SIDE));
    }
}
