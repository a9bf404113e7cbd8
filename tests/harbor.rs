//! Harbor as Palette's docs have users run it: a project robot account, to which Harbor
//! refuses the catalog. packpub lists through Harbor's project API instead (the stand-in in
//! `support::fronts`, written from Harbor's API definition).

use crate::support::fronts::Front;
use crate::support::{Run, edit_pack_json, example_in, packpub};

const ROBOT: &str = "robot$proj+ci";
const PASSWORD: &str = "r0bot";

fn robot(front: &Front) -> std::process::Command {
    let mut cmd = packpub();
    cmd.env("PACKPUB_USERNAME", ROBOT)
        .env("PACKPUB_PASSWORD", PASSWORD)
        .env("PACKPUB_CA_FILE", front.ca_file());
    cmd
}

#[test]
fn a_robot_account_lists_verifies_and_copies_without_the_catalog() {
    let front = Front::harbor(ROBOT, PASSWORD);
    let tmp = tempfile::tempdir().unwrap();
    let target = format!("{}/proj", front.host());
    // Three packs, listed two to a page.
    for name in ["alpha", "beta", "gamma"] {
        let dir = example_in(tmp.path(), &format!("{name}-1.0.0"));
        edit_pack_json(&dir, |doc| doc["name"] = name.into());
        let mut push = robot(&front);
        push.args(["push", dir.to_str().unwrap(), "--registry", &target]);
        Run::of(push.output().unwrap()).expect(0);
    }
    let mut ls = robot(&front);
    ls.args(["ls", "--registry", &target, "--json", "--page-size", "2"]);
    let listed = Run::of(ls.output().unwrap()).expect(0);
    let names: Vec<String> = listed
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alpha", "beta", "gamma"]);

    let mut verify = robot(&front);
    verify.args(["verify", "beta:1.0.0", "--registry", &target]);
    Run::of(verify.output().unwrap()).expect(0);

    let layout = tmp.path().join("copied");
    let mut copy = robot(&front);
    copy.env("PACKPUB_SRC_USERNAME", ROBOT)
        .env("PACKPUB_SRC_PASSWORD", PASSWORD)
        .args(["copy", &target, &format!("oci:{}", layout.display())])
        .arg("--src-ca-file")
        .arg(front.ca_file());
    Run::of(copy.output().unwrap()).expect(0);
    assert!(layout.join("index.json").exists());
}
